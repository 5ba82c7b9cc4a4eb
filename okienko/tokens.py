"""Secret tokens for links and devices: only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    # The token has 192 random bits, so a plain digest is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_key() -> str:
    """A staff account's session key: changing it signs out every browser signed in with it."""
    return secrets.token_hex(16)
