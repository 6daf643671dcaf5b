from __future__ import annotations

from typing import Any

from allauth.account.signals import user_signed_up
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.stepup import step_up_attempted
from kernel.errors import AppError
from organizations.actors import ACTIVE_ORGANIZATION_SESSION_KEY, actor_in_organization
from organizations.audit import AuditAction, audit
from organizations.models import AuditEvent
from organizations.mutations import personal_organization_create


@receiver(user_signed_up)
def create_personal_organization(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Every new user starts in an organization of their own, made active."""
    organization = personal_organization_create(user=user)
    if request is not None and hasattr(request, "session"):
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk


@receiver(step_up_attempted)
def audit_organization_step_up(
    sender: Any,
    request: HttpRequest,
    user: User,
    action: str,
    method: str,
    organization_id: int,
    success: bool,
    **kwargs: Any,
) -> None:
    """Step-ups for an organization's sensitive actions appear in its audit log."""
    try:
        actor = actor_in_organization(user, organization_id)
    except AppError:
        return  # not a member (any more): nothing to record in that organization
    audit(
        organization_id=organization_id,
        action=AuditAction.STEP_UP,
        actor=actor,
        result=AuditEvent.Result.SUCCESS if success else AuditEvent.Result.FAILURE,
        target=action,
        request=request,
        method=method,
    )
