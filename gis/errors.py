"""Typed domain errors; app/errors.py maps each to an HTTP status in one place."""


class DomainError(Exception):
    """Something a person did that we refuse, with a message they can act on."""

    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


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
