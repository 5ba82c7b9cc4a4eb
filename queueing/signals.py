"""What the floor announces, for features built on it to react to.

Receivers are listed in each feature's ``listeners.py`` (the administration's:
``admin/listeners.py``); the floor imports none of them.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: ``flask demo`` loaded the demo offices, clerks and devices; sent inside its unit of work.
#: Sender: the app; keywords: ``session``. A receiver adds its own demo data and returns the
#: lines to print after the floor's (a list of str).
demo_loaded = _signals.signal("demo-loaded")
