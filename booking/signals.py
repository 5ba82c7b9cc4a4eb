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

#: [waitlist] Counter time became free again: a booking cancelled, refused or moved away
#: (``counter_id`` and ``service_id`` name its cells), or a closure lifted (both None:
#: any counter of the office). Sender: the ``Office``; keywords: ``session``, ``starts_at``,
#: ``ends_at``, ``counter_id``, ``service_id``, ``reason`` and ``now``. The waiting list
#: (``booking/waitlist.py``) offers it to the first person in line.
time_freed = _signals.signal("time-freed")
