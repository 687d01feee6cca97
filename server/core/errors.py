"""Domain errors of the server: one class per failure, mapped to HTTP in one handler.

Messages are Chinese first, then English (users are station and cooperative staff).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every server-side failure a caller can act on."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidState(Conflict):
    """The object is not in a state that allows this action (e.g. approved is immutable)."""

    code = "invalid_state"


class AlreadyPaid(Conflict):
    """A lot is already in another approved payout: a lot is paid exactly once."""

    code = "already_paid"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class ImportFailed(DomainError):
    """A bundle had bad records; nothing was imported. ``errors`` lists them."""

    status_code = 422
    code = "import_failed"

    def __init__(self, errors: list[str]) -> None:
        super().__init__(
            f"导入失败，共 {len(errors)} 条错误，未导入任何记录 / import failed with "
            f"{len(errors)} error(s); nothing was imported",
            detail=errors,
        )
        self.errors = errors


class TooManyAttempts(DomainError):
    """Too many failed sign-ins for a user or an address; ``retry_after_s`` until allowed."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, detail={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s
