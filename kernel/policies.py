"""Resource policies named in the permission catalogue.

A policy looks at the actor and the target of the action and raises an AppError to refuse.
Run inside a @mutation, its reads are part of the SERIALIZABLE transaction, so two
concurrent requests cannot both pass a check that only one of them may pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from django.utils.translation import gettext as _

from kernel import errors
from kernel.permissions import Role

if TYPE_CHECKING:
    from kernel.actor import Actor


@runtime_checkable
class RoleHolder(Protocol):
    """A membership-like target: someone holding a role in the actor's organization."""

    role: str
    organization_id: int

    def has_other_owners(self) -> bool: ...


def _role_holder(target: object) -> RoleHolder:
    if not isinstance(target, RoleHolder):
        raise TypeError(f"This policy needs a membership target, got {type(target).__name__}")
    return target


def actor_outranks_target(actor: Actor, target: object) -> None:
    """No one changes the membership of someone with a higher role (admins vs owners)."""
    holder = _role_holder(target)
    if Role(holder.role).rank > actor.role.rank:
        if holder.role == Role.OWNER:
            raise errors.forbidden(_("You cannot change the membership of an owner."))
        raise errors.forbidden(_("You cannot change the membership of an admin."))


def keep_last_owner(actor: Actor, target: object) -> None:
    """An organization always keeps at least one owner."""
    holder = _role_holder(target)
    if holder.role == Role.OWNER and not holder.has_other_owners():
        raise errors.conflict(
            _("This is the organization's last owner. Make someone else an owner first.")
        )
