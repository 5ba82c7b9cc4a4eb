"""Answers to the default admission questions that admit: every one "no".

``ADMITTED`` as the API's ``declaration`` takes them, ``KIOSK_ADMITTED`` as the kiosk's form
posts them. Free of pytest: the floor helpers that ``bench/`` imports use it too.
"""

from __future__ import annotations

from booking.admission import DEFAULT_QUESTIONS

ADMITTED = {key: False for key, _texts in DEFAULT_QUESTIONS}
# The kiosk's admission questions answered so as to be admitted; ignored when the office's
# sanitary regime is off.
KIOSK_ADMITTED = {"answered": "1", **{f"q_{key}": "no" for key, _texts in DEFAULT_QUESTIONS}}
