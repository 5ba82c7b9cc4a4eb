"""A client of the bot challenge, as an API client would write it: fetch a challenge, find
the number whose SHA-256 of salt + number is the challenge, send the base64 payload."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from flask.testing import FlaskClient


def solve(challenge: dict[str, Any]) -> str:
    """The ``altcha`` payload that answers ``challenge`` (GET /api/v1/challenge's JSON)."""
    salt, wanted = challenge["salt"], challenge["challenge"]
    for number in range(int(challenge["maxnumber"]) + 1):
        if hashlib.sha256(f"{salt}{number}".encode()).hexdigest() == wanted:
            answer = {
                "algorithm": challenge["algorithm"],
                "challenge": wanted,
                "number": number,
                "salt": salt,
                "signature": challenge["signature"],
            }
            return base64.b64encode(json.dumps(answer).encode()).decode()
    raise AssertionError(f"no number up to {challenge['maxnumber']} solves {challenge}")


def solved(client: FlaskClient) -> str:
    """A fresh challenge from the API, solved."""
    response = client.get("/api/v1/challenge")
    assert response.status_code == 200, response.get_data(as_text=True)
    return solve(response.get_json())
