"""Reads of the organizations domain. Each begins with its permission check and reads
the actor's organization only."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from kernel.actor import Actor, AuthMethod
from kernel.guard import require_app_permission
from kernel.permissions import CATALOGUE, ROLE_RANK, Role, role_permissions
from kernel.text import storable_or_error
from organizations.models import AuditEvent, Invitation, Membership, Organization

AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True)
class ActorContext:
    user: User | None
    organization: Organization
    role: Role
    permissions: list[str]
    auth_method: AuthMethod


def actor_context_get(*, actor: Actor) -> ActorContext:
    """Who the actor is, where, and what they may do.

    Permission: organization.read. Tenancy: the actor's own organization only.
    """
    require_app_permission(actor, "organization.read")
    organization = Organization.objects.get(pk=actor.organization_id)
    user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    permissions = role_permissions(actor.role)
    if actor.permission_limit is not None:
        permissions = [p for p in permissions if p in actor.permission_limit]
    return ActorContext(user, organization, actor.role, permissions, actor.auth_method)


def organization_get(*, actor: Actor) -> Organization:
    """Permission: organization.read."""
    require_app_permission(actor, "organization.read")
    return Organization.objects.get(pk=actor.organization_id)


@dataclass(frozen=True)
class MyOrganization:
    organization: Organization
    role: Role


def organizations_of_user(user: User) -> list[MyOrganization]:
    """The organizations a signed-in user belongs to (their own memberships only)."""
    memberships = (
        Membership.objects.unscoped()  # keyed by the user: never another user's rows
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )
    return [MyOrganization(m.organization, Role(m.role)) for m in memberships]


def member_list(*, actor: Actor) -> list[Membership]:
    """Permission: member.read. Owners first, then by email."""
    require_app_permission(actor, "member.read")
    members = Membership.objects.for_actor(actor).select_related("user")
    return sorted(members, key=lambda m: (-ROLE_RANK[Role(m.role)], m.user.email))


def seats_used(organization_id: int) -> int:
    """Internal: what the plan's member limit counts: members plus pending invitations
    that have not expired."""
    return (
        Membership.objects.for_organization(organization_id).count()
        + Invitation.objects.for_organization(organization_id)
        .filter(accepted_at=None, declined_at=None, revoked_at=None, expires_at__gt=timezone.now())
        .count()
    )


def invitation_list(*, actor: Actor) -> QuerySet[Invitation]:
    """Permission: invitation.read. Pending invitations, newest first."""
    require_app_permission(actor, "invitation.read")
    return (
        Invitation.objects.for_actor(actor)
        .filter(accepted_at=None, declined_at=None, revoked_at=None)
        .select_related("invited_by")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_before: int | None


def audit_list(
    *,
    actor: Actor,
    action: str | None = None,
    result: str | None = None,
    before: int | None = None,
    limit: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """Permission: audit.read. Newest first; `before` is the cursor (an event id)."""
    require_app_permission(actor, "audit.read")
    events = AuditEvent.objects.for_actor(actor).order_by("-id")
    if action:
        events = events.filter(action=storable_or_error(action, "action"))
    if result:
        events = events.filter(result=storable_or_error(result, "result"))
    if before is not None:
        events = events.filter(id__lt=before)
    page = list(events[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return AuditPage(page, page[-1].pk if more and page else None)


def permission_matrix() -> list[tuple[str, str, list[bool]]]:
    """(permission, description, [held by owner, admin, member, viewer]) from the catalogue."""
    roles = list(Role)
    return [
        (name, entry.description, [role in entry.roles for role in roles])
        for name, entry in CATALOGUE.items()
    ]
