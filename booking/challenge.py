"""Bot defence: a proof-of-work challenge (ALTCHA) before an online booking.

The browser (or an API client) finds the number whose SHA-256 of the challenge's salt
followed by the number is the challenge; the server checks the answer against its HMAC
signature, with no third party and no cookie. An answer books once: its signature is kept
(``UsedChallenge``) until the challenge expires. Asked of an office's bookings when the
office says so (``Office.bot_challenge``) or the installation does (``BOT_CHALLENGE``).
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The package's first protocol (SHA-256 over salt + number, up to maxnumber): the one the
# vendored widget 2.x solves and API clients can solve in a few lines.
from altcha import ChallengeOptionsV1, PayloadV1, create_challenge_v1, verify_solution_v1
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from okienko.database import rows_changed
from okienko.doctor import OK, PROBLEM, Finding, connect, first_line

from .models import Office, UsedChallenge
from .refusals import Refusal

# The form field (and API field) that carries the solution: the widget's default name.
FIELD = "altcha"
# Long enough to tick the box, fill in the form and send it; the spent signature is kept
# as long, then deleted.
CHALLENGE_MINUTES = 30
# Answers longer than this are not a payload the widget sends: refused unread.
MAX_PAYLOAD = 2000
GENERATED = "generated into "


class ChallengeRefused(Refusal):
    error = "challenge_invalid"
    message: object = _l(
        "The check that you are not a robot did not succeed. Please tick the box again."
    )
    status = 422


class ChallengeMissing(ChallengeRefused):
    error = "challenge_required"
    message = _l("Please confirm that you are not a robot: tick the box and wait for the tick.")


class ChallengeExpired(ChallengeRefused):
    error = "challenge_expired"
    message = _l("The check that you are not a robot has expired. Please tick the box again.")


class ChallengeUsed(ChallengeRefused):
    error = "challenge_used"
    message = _l("This check has already been used for a booking. Please tick the box again.")


# ------------------------------------------------------------------------ configuration


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _hmac_key(instance: Path) -> tuple[str, str]:
    """ALTCHA_HMAC_KEY from the environment, else generated once into the instance folder
    (shared by the workers of one machine, as the SECRET_KEY is)."""
    if key := os.environ.get("ALTCHA_HMAC_KEY"):
        return key, "from the environment"
    path = instance / "altcha_hmac_key"
    try:
        # O_EXCL: of several workers starting at once, one writes and all read the same key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), f"{GENERATED}{path}"
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key, f"{GENERATED}{path}"


def init_app(app: Flask) -> None:
    """The settings (what ``create_app(config)`` gave stands) and the doctor's check."""
    from okienko.doctor import add_check

    app.config.setdefault("BOT_CHALLENGE", _bool(os.environ.get("BOT_CHALLENGE")))
    # Up to this number the client tries: about a second on an old phone.
    app.config.setdefault("ALTCHA_MAX_NUMBER", int(os.environ.get("ALTCHA_MAX_NUMBER", "100000")))
    if not app.config.get("ALTCHA_HMAC_KEY"):
        key, source = _hmac_key(Path(app.instance_path))
        app.config["ALTCHA_HMAC_KEY"], app.config["ALTCHA_HMAC_KEY_SOURCE"] = key, source
    app.config.setdefault("ALTCHA_HMAC_KEY_SOURCE", "given in the configuration")
    config = app.config
    add_check(app, lambda: check_hmac_key(config))


def check_hmac_key(config: Any) -> Iterator[Finding]:
    """A generated key is a problem only where a challenge is asked: with several machines
    each would sign challenges the others refuse."""
    source = str(config.get("ALTCHA_HMAC_KEY_SOURCE") or "")
    if not source.startswith(GENERATED):
        yield Finding("bot challenge key", OK, f"{source} (ALTCHA_HMAC_KEY)")
        return
    in_use = bool(config.get("BOT_CHALLENGE"))
    if not in_use:
        try:
            with connect() as connection:
                in_use = bool(
                    connection.execute(select(exists().where(Office.bot_challenge))).scalar()
                )
        except Exception as exc:  # no tables yet, or no database: the database check says so
            yield Finding(
                "bot challenge key", PROBLEM, f"cannot read the offices: {first_line(exc)}"
            )
            return
    if not in_use:
        yield Finding("bot challenge key", OK, f"no office asks for the bot challenge; {source}")
        return
    yield Finding(
        "bot challenge key",
        PROBLEM,
        f"the bot challenge is on, but ALTCHA_HMAC_KEY is not set in the environment; {source}",
        "set ALTCHA_HMAC_KEY in the environment of every web worker, the same everywhere "
        "(e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))')",
    )


# ----------------------------------------------------------------------------- domain


def required(office: Office) -> bool:
    """Whether a booking at ``office`` must carry a solved challenge."""
    return bool(current_app.config.get("BOT_CHALLENGE")) or bool(office.bot_challenge)


def new_challenge(now: datetime) -> dict[str, Any]:
    """A fresh challenge, as the widget and API clients read it (``maxnumber`` included)."""
    challenge = create_challenge_v1(
        ChallengeOptionsV1(
            algorithm="SHA-256",
            max_number=int(current_app.config["ALTCHA_MAX_NUMBER"]),
            hmac_key=current_app.config["ALTCHA_HMAC_KEY"],
            expires=now + timedelta(minutes=CHALLENGE_MINUTES),
        )
    )
    # The widget's own spelling, "maxnumber" (the library's dict says "maxNumber").
    return {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "maxnumber": challenge.max_number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }


def _expires(salt: str) -> datetime | None:
    """The expiry signed into the salt (``...?expires=UNIX&``), as the library writes it."""
    query = urllib.parse.parse_qs(salt.partition("?")[2])
    try:
        return datetime.fromtimestamp(int(query["expires"][0]), tz=UTC)
    except (KeyError, IndexError, ValueError, OverflowError, OSError):
        return None


def checked(payload: object, now: datetime) -> tuple[str, datetime]:
    """The signature and expiry of a valid, unexpired solution; raises what is wrong.

    The expiry is compared with ``now`` here (not the library's wall clock), so a test's
    clock and the server's agree.
    """
    if not payload:
        raise ChallengeMissing()
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        raise ChallengeRefused()
    key = current_app.config["ALTCHA_HMAC_KEY"]
    try:
        ok, _error = verify_solution_v1(payload, key, check_expires=False)
        solution = PayloadV1.from_base64(payload) if ok else None
    except (ValueError, TypeError, AttributeError, KeyError):  # not the JSON it should be
        solution = None
    if solution is None or not isinstance(solution.salt, str):
        raise ChallengeRefused()
    salt, signature = solution.salt, str(solution.signature)
    expires = _expires(salt)
    if expires is None:
        raise ChallengeRefused()
    if expires <= now:
        raise ChallengeExpired()
    return signature, expires


def forget_spent(session: Session, now: datetime) -> int:
    """Delete the spent signatures past their expiry (a replay of them is refused as
    expired anyway). Part of the hourly ``retention`` job: deleted inside each booking,
    concurrent bookings would wait on each other's locks on the same rows."""
    return rows_changed(
        session.execute(
            delete(UsedChallenge)
            .where(UsedChallenge.expires_at <= now)
            .execution_options(synchronize_session=False)
        )
    )


def spend(session: Session, payload: object, now: datetime) -> None:
    """Check the solution and mark it used, in the caller's unit of work (rolled back with
    it if nothing is booked)."""
    signature, expires = checked(payload, now)
    try:
        # The primary key decides between two requests sending one solution at once.
        with session.begin_nested():
            session.execute(insert(UsedChallenge).values(signature=signature, expires_at=expires))
    except IntegrityError as exc:
        raise ChallengeUsed() from exc
