"""One application error with a stable code, rendered the same way by every transport.

Raise the factories (`raise not_found()`), never build HTTP responses for business
errors by hand: kernel/rendering.py turns an AppError into an API envelope, a page or a
socket frame.

Codes are the contract; messages are for people and translate. An error's message is
made when it is raised, in the language active then (the request's, the socket's, the
recipient's): pass `gettext(...)` with named placeholders, or a `gettext_lazy` constant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from django.utils.formats import number_format
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


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

FieldErrors = Mapping[str, "Sequence[StrOrPromise]"]


class AppError(Exception):
    """A failure the caller can act on. `code` is part of the public contract."""

    def __init__(
        self,
        code: ErrorCode,
        message: StrOrPromise,
        *,
        fields: FieldErrors | None = None,
        retry_after: int | None = None,
        step_up_action: str | None = None,
        action_url: str | None = None,
        action_label: StrOrPromise | None = None,
        organization_id: int | None = None,
    ) -> None:
        message = str(message)  # a lazy text, in the language active now
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields: dict[str, list[str]] = {
            k: [str(m) for m in v] for k, v in (fields or {}).items()
        }
        self.retry_after = retry_after
        self.step_up_action = step_up_action
        """For `step_up_required`: the sensitive action, so a page can route to its step-up."""
        self.action_url = action_url
        self.action_label = None if action_label is None else str(action_label)
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


def not_found(message: StrOrPromise | None = None) -> AppError:
    """Missing, or not yours: the two must be indistinguishable to the caller."""
    return AppError(ErrorCode.NOT_FOUND, message or _("Not found."))


def forbidden(message: StrOrPromise | None = None) -> AppError:
    return AppError(ErrorCode.FORBIDDEN, message or _("You do not have permission to do this."))


def invalid_input(
    message: StrOrPromise | None = None, *, fields: FieldErrors | None = None
) -> AppError:
    return AppError(
        ErrorCode.INVALID_INPUT, message or _("Some fields are not valid."), fields=fields
    )


def unauthenticated(message: StrOrPromise | None = None) -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, message or _("Sign in to continue."))


def conflict(message: StrOrPromise) -> AppError:
    return AppError(ErrorCode.CONFLICT, message)


def step_up_required(message: StrOrPromise | None = None, *, action: str | None = None) -> AppError:
    return AppError(
        ErrorCode.STEP_UP_REQUIRED,
        message or _("Confirm it is you to continue: this action needs a recent sign-in."),
        step_up_action=action,
    )


def plan_limit(
    message: StrOrPromise,
    *,
    action_url: str | None = None,
    action_label: StrOrPromise | None = None,
) -> AppError:
    """The organization's plan does not allow this; the message names what lifts it, and
    `action_url` is where the viewer can lift it (the plans page), if they may."""
    return AppError(ErrorCode.PLAN_LIMIT, message, action_url=action_url, action_label=action_label)


def rate_limited(retry_after: int, message: StrOrPromise | None = None) -> AppError:
    return AppError(
        ErrorCode.RATE_LIMITED,
        message or _("Too many requests. Try again later."),
        retry_after=max(1, retry_after),
    )


def method_not_allowed(method: str) -> AppError:
    return AppError(
        ErrorCode.METHOD_NOT_ALLOWED, _("%(method)s is not allowed here.") % {"method": method}
    )


def payload_too_large(limit_bytes: int) -> AppError:
    return AppError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        _("The request body is larger than the %(limit)s KiB this server accepts.")
        % {"limit": number_format(limit_bytes // 1024, force_grouping=True)},
    )


def unsupported_media_type(expected: str = "application/json") -> AppError:
    return AppError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        _("Send the request body as %(type)s.") % {"type": expected},
    )


def server_error(message: StrOrPromise | None = None) -> AppError:
    return AppError(ErrorCode.SERVER_ERROR, message or _("Something went wrong on our side."))


def unavailable(retry_after: int = 5, message: StrOrPromise | None = None) -> AppError:
    """Infrastructure, not the request: the database is unreachable or its pool exhausted."""
    return AppError(
        ErrorCode.UNAVAILABLE,
        message or _("The service is briefly unavailable. Try again in a few seconds."),
        retry_after=retry_after,
    )


def suspended(message: StrOrPromise) -> AppError:
    """The organization is suspended by an operator: nothing in it can be read or done."""
    return AppError(ErrorCode.SUSPENDED, message)


def pending_deletion(message: StrOrPromise, *, organization_id: int | None = None) -> AppError:
    """The organization is scheduled for deletion: only its owners may restore it."""
    return AppError(ErrorCode.PENDING_DELETION, message, organization_id=organization_id)


def two_factor_required(message: StrOrPromise, *, action_url: str | None = None) -> AppError:
    """The organization requires two-factor authentication, and this person has none."""
    return AppError(
        ErrorCode.TWO_FACTOR_REQUIRED,
        message,
        action_url=action_url,
        action_label=_("Set up two-factor authentication") if action_url else None,
    )
