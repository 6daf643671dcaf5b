"""One application error with a stable code, rendered the same way by every transport.

Raise the factories (`raise not_found()`), never build HTTP responses for business
errors by hand: kernel/rendering.py turns an AppError into an API envelope, a page or a
socket frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class ErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INVALID_INPUT = "invalid_input"
    UNAUTHENTICATED = "unauthenticated"
    CONFLICT = "conflict"
    STEP_UP_REQUIRED = "step_up_required"
    PLAN_LIMIT = "plan_limit"
    RATE_LIMITED = "rate_limited"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    SUSPENDED = "suspended"
    PENDING_DELETION = "pending_deletion"
    TWO_FACTOR_REQUIRED = "two_factor_required"


HTTP_STATUS: Final[Mapping[ErrorCode, int]] = MappingProxyType(
    {
        ErrorCode.INVALID_INPUT: 422,
        ErrorCode.UNAUTHENTICATED: 401,
        ErrorCode.PLAN_LIMIT: 402,
        ErrorCode.FORBIDDEN: 403,
        ErrorCode.STEP_UP_REQUIRED: 403,
        ErrorCode.SUSPENDED: 403,
        ErrorCode.PENDING_DELETION: 403,
        ErrorCode.TWO_FACTOR_REQUIRED: 403,
        ErrorCode.NOT_FOUND: 404,
        ErrorCode.METHOD_NOT_ALLOWED: 405,
        ErrorCode.CONFLICT: 409,
        ErrorCode.PAYLOAD_TOO_LARGE: 413,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
        ErrorCode.RATE_LIMITED: 429,
        ErrorCode.SERVER_ERROR: 500,
        ErrorCode.UNAVAILABLE: 503,
    }
)

FieldErrors = Mapping[str, Sequence[str]]


class AppError(Exception):
    """A failure the caller can act on. `code` is part of the public contract."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        fields: FieldErrors | None = None,
        retry_after: int | None = None,
        step_up_action: str | None = None,
        action_url: str | None = None,
        action_label: str | None = None,
        organization_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        self.retry_after = retry_after
        self.step_up_action = step_up_action
        """For `step_up_required`: the sensitive action, so a page can route to its step-up."""
        self.action_url = action_url
        self.action_label = action_label
        """What lifts the refusal, as a link a page shows beside the message ("Upgrade to
        Pro" → the plans page); only when the viewer may follow it. Not in the API body."""
        self.organization_id = organization_id
        """The organization a status refusal is about (a page may offer its owners more:
        kernel/rendering.py `error_page`). Not in the API body."""

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_dict(self) -> dict[str, object]:
        return {"code": str(self.code), "message": self.message, "fields": self.fields}

    def __repr__(self) -> str:
        return f"AppError({self.code!s}, {self.message!r})"


def not_found(message: str = "Not found.") -> AppError:
    """Missing, or not yours: the two must be indistinguishable to the caller."""
    return AppError(ErrorCode.NOT_FOUND, message)


def forbidden(message: str = "You do not have permission to do this.") -> AppError:
    return AppError(ErrorCode.FORBIDDEN, message)


def invalid_input(
    message: str = "Some fields are not valid.", *, fields: FieldErrors | None = None
) -> AppError:
    return AppError(ErrorCode.INVALID_INPUT, message, fields=fields)


def unauthenticated(message: str = "Sign in to continue.") -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, message)


def conflict(message: str) -> AppError:
    return AppError(ErrorCode.CONFLICT, message)


def step_up_required(
    message: str = "Confirm it is you to continue: this action needs a recent sign-in.",
    *,
    action: str | None = None,
) -> AppError:
    return AppError(ErrorCode.STEP_UP_REQUIRED, message, step_up_action=action)


def plan_limit(
    message: str, *, action_url: str | None = None, action_label: str | None = None
) -> AppError:
    """The organization's plan does not allow this; the message names what lifts it, and
    `action_url` is where the viewer can lift it (the plans page), if they may."""
    return AppError(ErrorCode.PLAN_LIMIT, message, action_url=action_url, action_label=action_label)


def rate_limited(
    retry_after: int, message: str = "Too many requests. Try again later."
) -> AppError:
    return AppError(ErrorCode.RATE_LIMITED, message, retry_after=max(1, retry_after))


def method_not_allowed(method: str) -> AppError:
    return AppError(ErrorCode.METHOD_NOT_ALLOWED, f"{method} is not allowed here.")


def payload_too_large(limit_bytes: int) -> AppError:
    return AppError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"The request body is larger than the {limit_bytes // 1024:,} KiB this server accepts.",
    )


def unsupported_media_type(expected: str = "application/json") -> AppError:
    return AppError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"Send the request body as {expected}.")


def server_error(message: str = "Something went wrong on our side.") -> AppError:
    return AppError(ErrorCode.SERVER_ERROR, message)


def unavailable(
    retry_after: int = 5,
    message: str = "The service is briefly unavailable. Try again in a few seconds.",
) -> AppError:
    """Infrastructure, not the request: the database is unreachable or its pool exhausted."""
    return AppError(ErrorCode.UNAVAILABLE, message, retry_after=retry_after)


def suspended(message: str) -> AppError:
    """The organization is suspended by an operator: nothing in it can be read or done."""
    return AppError(ErrorCode.SUSPENDED, message)


def pending_deletion(message: str, *, organization_id: int | None = None) -> AppError:
    """The organization is scheduled for deletion: only its owners may restore it."""
    return AppError(ErrorCode.PENDING_DELETION, message, organization_id=organization_id)


def two_factor_required(message: str, *, action_url: str | None = None) -> AppError:
    """The organization requires two-factor authentication, and this person has none."""
    return AppError(
        ErrorCode.TWO_FACTOR_REQUIRED,
        message,
        action_url=action_url,
        action_label="Set up two-factor authentication" if action_url else None,
    )
