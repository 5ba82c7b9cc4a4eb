"""What makes a staff password acceptable: long enough, and not one of the commonest.

The list of common passwords is zxcvbn's (30,000, from leaked password sets), and
zxcvbn's estimate also refuses a password built from the user's own names.
"""

from __future__ import annotations

import functools

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 200


@functools.cache
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *personal: str) -> LazyString | None:
    """Why ``password`` is refused, in the user's language, or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(count)d characters.", count=MAX_LENGTH)
    if password.lower() in common_passwords():
        return _l("This is one of the most common passwords. Choose another.")
    inputs = [word for text in personal for word in text.lower().split() if word]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < 3:
        return _l("This password is too easy to guess. Add words or characters.")
    return None
