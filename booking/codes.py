"""Booking codes people read aloud."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: nothing a resident or clerk can mishear or misread.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 8


def new_booking_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """ABCD-EFGH: two groups of four are easier to read out."""
    return f"{code[:4]}-{code[4:]}"


def normalize_code(text: str) -> str:
    """What a resident typed, in the stored form (case, spaces and dashes forgiven)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())
