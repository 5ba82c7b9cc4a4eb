"""The resident's pages, one blueprint "booking", in modules by what the resident is doing.

``browse``: offices and free times; ``book``: booking a time; ``manage``: a booking's
link (admission check online, phone instead, QR, .ics, cancel); ``move``: another time.
Importing them adds their routes to ``bp``.
"""

from __future__ import annotations

from . import book, browse, manage, move  # noqa: F401  (their routes join bp)
from . import waitlist as _waitlist  # noqa: F401  [waitlist] its routes join bp
from .blueprint import bp

__all__ = ["bp"]
