"""The permission catalogue: the one table every guard, template, API doc and admin reads.

Each app declares its permissions in its domain manifest (`<app>/domain.py`); the kernel
collects them into `CATALOGUE` at start-up and freezes it.

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

from django.utils.translation import gettext_lazy

from kernel.registry import Registry

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from kernel.actor import Actor


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]


ROLE_LABELS: Final[Mapping[Role, StrOrPromise]] = MappingProxyType(
    {
        Role.OWNER: gettext_lazy("Owner"),
        Role.ADMIN: gettext_lazy("Admin"),
        Role.MEMBER: gettext_lazy("Member"),
        Role.VIEWER: gettext_lazy("Viewer"),
    }
)
"""Roles as people read them (the models' choices, so `get_role_display` translates)."""

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
    description: StrOrPromise
    roles: frozenset[Role]
    capability: str | None = None
    policies: tuple[Policy, ...] = ()


EVERYONE: Final = frozenset(Role)
EDITORS: Final = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
MANAGERS: Final = frozenset({Role.OWNER, Role.ADMIN})
OWNERS: Final = frozenset({Role.OWNER})

CATALOGUE: Final = Registry[Permission]("permission")
"""Filled from the apps' domain manifests at start-up (kernel/manifest.py), then frozen."""


def get_permission(name: str) -> Permission:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownPermissionError(
            f"Unknown permission {name!r}: declare it in its app's domain.py."
        ) from None


def role_permissions(role: Role) -> list[str]:
    """The catalogue's permissions a role holds, in catalogue order (for docs and pages)."""
    return [name for name, permission in CATALOGUE.items() if role in permission.roles]
