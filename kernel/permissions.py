"""The permission catalogue: the one table every guard, template, API doc and admin reads.

A permission passes for an actor only if all three pass:
  role        the actor's role is one of `roles`;
  capability  the organization's plan grants `capability` (if set; granted by billing);
  policies    each resource policy accepts the target (e.g. "not the last owner").

Unknown permission names are programming errors: `get_permission` raises, never allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from kernel.actor import Actor


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]


ROLE_RANK: Final[Mapping[Role, int]] = MappingProxyType(
    {Role.OWNER: 4, Role.ADMIN: 3, Role.MEMBER: 2, Role.VIEWER: 1}
)


class Policy(Protocol):
    """Accepts (returns None) or raises an AppError. `target` is the resource acted on."""

    __name__: str

    def __call__(self, actor: Actor, target: object) -> None: ...


class UnknownPermissionError(LookupError):
    """A permission name that is not in the catalogue: a bug, never a silent allow."""


@dataclass(frozen=True, slots=True)
class Permission:
    name: str
    description: str
    roles: frozenset[Role]
    capability: str | None = None
    policies: tuple[Policy, ...] = ()


# Capabilities the free plan grants; billing replaces this with grants per organization.
FREE_CAPABILITIES: Final = frozenset({"members.invite"})

_EVERYONE = frozenset(Role)
_EDITORS = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
_OWNERS = frozenset({Role.OWNER})


def _catalogue() -> Mapping[str, Permission]:
    from kernel import policies

    entries = [
        Permission("organization.read", "See the organization", _EVERYONE),
        Permission("organization.update", "Rename the organization", _MANAGERS),
        Permission("organization.delete", "Delete the organization and its data", _OWNERS),
        Permission("organization.transfer", "Transfer ownership", _OWNERS),
        Permission("member.read", "See members and their roles", _EVERYONE),
        Permission("member.invite", "Invite people", _MANAGERS, capability="members.invite"),
        Permission(
            "member.update_role",
            "Change a member's role",
            _MANAGERS,
            policies=(policies.actor_outranks_target, policies.keep_last_owner),
        ),
        Permission(
            "member.remove",
            "Remove a member",
            _MANAGERS,
            policies=(policies.actor_outranks_target, policies.keep_last_owner),
        ),
        Permission("invitation.read", "See pending invitations", _MANAGERS),
        Permission("invitation.cancel", "Revoke an invitation", _MANAGERS),
        Permission("billing.read", "See the plan and invoices", _MANAGERS),
        Permission("billing.manage", "Change the plan and payment details", _OWNERS),
        Permission("audit.read", "Read the audit log", _MANAGERS),
        Permission("api_keys.manage", "Create and revoke API keys", _MANAGERS),
        Permission("workspace.records.read", "See workspace records", _EVERYONE),
        Permission("workspace.records.create", "Create workspace records", _EDITORS),
        Permission("workspace.records.update", "Edit workspace records", _EDITORS),
        Permission("workspace.records.delete", "Delete workspace records", _MANAGERS),
    ]
    table = {entry.name: entry for entry in entries}
    if len(table) != len(entries):
        raise ValueError("Duplicate permission name in the catalogue")
    return MappingProxyType(table)


CATALOGUE: Final[Mapping[str, Permission]] = _catalogue()


def get_permission(name: str) -> Permission:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownPermissionError(
            f"Unknown permission {name!r}: add it to kernel/permissions.py CATALOGUE."
        ) from None


def role_permissions(role: Role) -> list[str]:
    """The catalogue's permissions a role holds, in catalogue order (for docs and pages)."""
    return [name for name, permission in CATALOGUE.items() if role in permission.roles]
