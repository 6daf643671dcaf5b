"""Read functions of the organizations domain. Each begins with its permission check."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from kernel.actor import Actor, AuthMethod
from kernel.guard import require_app_permission
from kernel.permissions import Role, role_permissions
from organizations.models import Organization


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
