"""Typed domain errors; app/errors.py maps each to an HTTP status in one place.

A message is a ``gis.i18n.Message`` (or plain text): rendered in the reader's language when it is
read, so the core never needs to know who reads it."""


class DomainError(Exception):
    """Something a person did that we refuse, with a message they can act on."""

    status = 400

    def __init__(self, message, **details):
        super().__init__(message)
        self.text = message
        self.details = details

    @property
    def message(self) -> str:
        """The message in the current locale."""
        return str(self.text)

    def __str__(self) -> str:
        return self.message


class Invalid(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class TooLarge(DomainError):
    status = 413


class TooManyAttempts(DomainError):
    """Throttled (log-in attempts): ``retry_after`` seconds to wait."""

    status = 429


class Unavailable(DomainError):
    """The server is at its limit for this (open live maps): ``retry_after`` seconds to wait."""

    status = 503
