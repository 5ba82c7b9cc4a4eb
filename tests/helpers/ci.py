"""Whether the suite runs in CI (``CI=true``): there a missing server or program fails a test
instead of skipping it."""

from __future__ import annotations

import os

IN_CI = os.environ.get("CI", "").lower() == "true"
