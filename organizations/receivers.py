"""organizations reacts to accounts: a new user gets an organization; step-ups for an
organization's sensitive actions appear in its audit log; an account is deleted only
when it orphans no organization with other members, and the organizations it leaves
without a member are scheduled for deletion."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_confirmed, user_signed_up
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.signals import account_deleting, account_deletion_blockers, step_up_attempted
from kernel import actors
from kernel.actor import Person, System
from kernel.door import call
from kernel.errors import AppError
from organizations import deletion, policies
from organizations.audit import AuditAction, audit
from organizations.models import AuditEvent, Organization
from organizations.mutations import personal_organization_create
from organizations.queries import organizations_blocking_deletion, solo_organizations


@receiver(user_signed_up)
def create_personal_organization(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Every new user starts in an organization of their own, made active."""
    organization = call(personal_organization_create, Person(user.pk))
    if request is not None and hasattr(request, "session"):
        actors.set_active_organization(request, organization.id)


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
    try:
        actor = actors.resolve(request, organization_id=organization_id)
    except AppError:
        return  # not a member (any more): nothing to record in that organization
    audit(
        organization_id=organization_id,
        action=AuditAction.STEP_UP,
        actor=actor,
        result=AuditEvent.Result.SUCCESS if success else AuditEvent.Result.FAILURE,
        target=action,
        reason="" if success else "The code was wrong or had expired.",
        method=method,
    )


@receiver(account_deletion_blockers)
def only_owner_of_a_shared_organization(sender: Any, user: User, **kwargs: Any) -> list[str]:
    return [organization.name for organization in organizations_blocking_deletion(user.pk)]


@receiver(account_deleting)
def delete_solo_organizations(sender: Any, user: User, **kwargs: Any) -> list[int]:
    """Inside the account's deletion: the organizations only this user belongs to are
    scheduled for deletion like any other (billing cancelled now, purged after the grace
    period; until then an operator can restore one for the person, docs/operations.md)."""
    solo = solo_organizations(user.pk)
    for organization in Organization.objects.select_for_update().filter(pk__in=solo):
        deletion.schedule(organization, by=f"Deleted with the account of {user.email}")
        audit(
            organization_id=organization.pk,
            action=AuditAction.ORGANIZATION_SCHEDULE_DELETION,
            actor=Person(user.pk),
            target=organization.name,
            target_type="organization",
            target_id=str(organization.pk),
            due=f"{organization.deletion_due_at:%d %B %Y}",
            cause="the account of its only member was deleted",
        )
    return solo


@receiver(email_confirmed)
def join_organizations_that_admit_the_address(
    sender: Any, request: HttpRequest | None, email_address: Any, **kwargs: Any
) -> None:
    """Automatic membership (organizations/policies.py): one audited call per organization."""
    user_id = email_address.user_id
    for organization_id in policies.auto_join_candidates(email_address.email, user_id):
        call(
            policies.auto_join,
            System("automatic membership"),
            {"user_id": user_id, "organization_id": organization_id},
        )
