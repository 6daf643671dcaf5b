"""The organization audit log: a closed catalogue of actions and one way to write them."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.http import HttpRequest

from accounts.audit import client_ip
from accounts.models import User
from kernel.actor import Actor
from kernel.errors import AppError, ErrorCode
from kernel.outcomes import Outcome
from organizations.models import AuditEvent


class AuditAction(StrEnum):
    ORGANIZATION_CREATE = "organization.create"
    ORGANIZATION_RENAME = "organization.rename"
    ORGANIZATION_DELETE = "organization.delete"
    ORGANIZATION_TRANSFER = "organization.transfer"
    MEMBER_ADD = "member.add"
    MEMBER_UPDATE_ROLE = "member.update_role"
    MEMBER_REMOVE = "member.remove"
    MEMBER_LEAVE = "member.leave"
    INVITATION_CREATE = "invitation.create"
    INVITATION_RESEND = "invitation.resend"
    INVITATION_REVOKE = "invitation.revoke"
    INVITATION_ACCEPT = "invitation.accept"
    INVITATION_DECLINE = "invitation.decline"
    STEP_UP = "step_up"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    GRANT_CREATE = "billing.grant_create"
    GRANT_REVOKE = "billing.grant_revoke"


def audit(
    *,
    organization_id: int,
    action: AuditAction,
    actor: Actor | None,
    result: Outcome = Outcome.SUCCESS,
    target: str = "",
    request: HttpRequest | None = None,
    **detail: Any,
) -> AuditEvent:
    """Record one event. Call it inside the mutation, so it commits with the change."""
    user = User.objects.filter(pk=actor.user_id).first() if actor and actor.user_id else None
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor=user,
        actor_label=user.email if user else ("api key" if actor else "system"),
        action=action,
        target=target[:254],
        result=result,
        ip_address=client_ip(request),
        detail=detail,
    )


def audit_refusals[**P, R](action: AuditAction) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record a refused mutation (forbidden, conflict, ...) after its transaction rolled
    back, so the refusal is kept. Wrap it outside @mutation; it reads `actor=`."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except AppError as error:
                actor = kwargs.get("actor")
                if isinstance(actor, Actor) and error.code != ErrorCode.NOT_FOUND:
                    audit(
                        organization_id=actor.organization_id,
                        action=action,
                        actor=actor,
                        result=AuditEvent.Result.DENIED
                        if error.code in (ErrorCode.FORBIDDEN, ErrorCode.STEP_UP_REQUIRED)
                        else AuditEvent.Result.FAILURE,
                        reason=error.code.value,
                    )
                raise

        return run

    return decorate
