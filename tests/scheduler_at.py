"""Run ``flask scheduler`` as if the clock read a given instant: a child process for tests.

Usage: python tests/scheduler_at.py 2026-10-25T15:30:00+00:00 [JOBSTORE_TABLE]
The app reads its configuration from the environment (DATABASE_URL, MAIL_SERVER, ...).
A job store table of its own makes this process run every job at once on start, so two
such processes really do the same work at the same time.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    with time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True):
        from okienko import scheduler
        from okienko.app import create_app

        if len(sys.argv) > 2:
            scheduler.JOBSTORE_TABLE = sys.argv[2]
        scheduler.run_forever(create_app())
