"""Permission checks against the catalogue, for an Actor already resolved.

The door (kernel/door.py) checks a function's permission before its body runs; a body
checks a permission with resource policies itself, once it holds the target:

    require_app_permission(actor, "member.remove", target=membership)

Raises AppError (`forbidden`, `plan_limit`, or a policy's error).
"""

from __future__ import annotations

from typing import Final

from django.utils.translation import gettext as _

from kernel import errors
from kernel.actor import Actor
from kernel.permissions import Permission, get_permission


class _NoTarget:
    def __repr__(self) -> str:
        return "NO_TARGET"


NO_TARGET: Final = _NoTarget()


def check_grant(actor: Actor, permission: Permission) -> None:
    """The API key's scopes, the role, the plan's capability."""
    if actor.scopes is not None and permission.name not in actor.scopes:
        raise errors.forbidden(_("This API key does not have the permission to do this."))
    if actor.role not in permission.roles:
        raise errors.forbidden()
    if permission.capability and permission.capability not in actor.capabilities:
        raise errors.plan_limit(
            _("Your organization's plan does not include this. Upgrade the plan to use it.")
        )


def require_app_permission(actor: Actor, permission: str, *, target: object = NO_TARGET) -> None:
    """Scopes, role, capability, then each resource policy on `target`."""
    entry = get_permission(permission)  # unknown → UnknownPermissionError: never an allow
    check_grant(actor, entry)
    if entry.policies and target is NO_TARGET:
        raise TypeError(
            f"{entry.name} has resource policies: pass the target it acts on "
            "(require_app_permission(actor, ..., target=obj))."
        )
    for policy in entry.policies:
        policy(actor, target)


def has_app_permission(actor: Actor | None, permission: str) -> bool:
    """Scopes, role and capability only: for showing or hiding controls, never for
    enforcement (policies need the target and are checked when the action runs)."""
    if actor is None:
        return False
    try:
        check_grant(actor, get_permission(permission))
    except errors.AppError:
        return False
    return True


def may_act_on(actor: Actor | None, permission: str, target: object) -> bool:
    """require_app_permission, policies included, as a yes/no: a page shows a control on
    `target` only if the mutation behind it would let the viewer use it."""
    if actor is None:
        return False
    try:
        require_app_permission(actor, permission, target=target)
    except errors.AppError:
        return False
    return True
