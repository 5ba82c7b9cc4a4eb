"""The base of every refusal a resident or clerk is shown: a stable code, a message, a status."""

from __future__ import annotations


class Refusal(Exception):
    """Something that cannot be done; views show ``message``, the API returns ``error``.

    Subclasses set ``error`` (stable, for machines), ``message`` (lazily
    translated, for people) and the HTTP ``status``; ``details`` fill the
    message's placeholders, such as a time to come back.
    """

    error = "refused"
    message: object = "refused"
    status = 409

    def __init__(self, message: object | None = None, **details: object) -> None:
        if message is not None:
            self.message = message
        self.details = details
        super().__init__(str(self.error))
