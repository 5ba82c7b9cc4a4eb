"""What the booking side announces, for other features to react to.

Sent inside the caller's transaction, so a receiver's changes commit or roll
back with the booking's. Receivers are listed in each feature's
``listeners.py`` (the floor's: ``queueing/listeners.py``); booking itself listens
to no other feature.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A booking no longer brings its resident at its time: cancelled, refused under the
#: sanitary regime, or moved to another time. Sender: the ``Booking``; keywords:
#: ``session``, ``reason`` ("cancelled", "refused" or "moved") and ``now``.
booking_ended = _signals.signal("booking-ended")
