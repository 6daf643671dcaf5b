"""Who is calling: resolved once per request, socket, or job (kernel/actors.py), then passed
explicitly to every registered function.

    Actor    a person or an API key acting in one organization
    Person   a signed-in person acting for themselves, in no organization
    System   internal code (webhooks, operators, jobs); never a client
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kernel.permissions import Role


class AuthMethod(StrEnum):
    SESSION = "session"
    API_KEY = "api_key"
    TASK = "task"


@dataclass(frozen=True, slots=True)
class Authentication:
    """How the caller proved who they are: what step-up (kernel/stepup.py) looks at."""

    method: AuthMethod
    session_key_hash: str | None = None
    """The browser session (hashed): step-up grants belong to one session."""
    signed_in_at: float | None = None
    """The last real sign-in of this session (a Unix time), not a re-authentication."""
    reauthenticated_at: float | None = None
    client_ip: str | None = None
    """Where the request or socket came from, for the audit log."""
    operator_id: int | None = None
    """An operator viewing as this person (impersonation, accounts/impersonation.py): the
    audit log records them too, and the door refuses what only the person may do."""
    operator_label: str = ""


SESSION = Authentication(AuthMethod.SESSION)
API_KEY = Authentication(AuthMethod.API_KEY)
TASK = Authentication(AuthMethod.TASK)


class Limits(Mapping[str, int | None]):
    """What the organization's plan allows, by limit kind: `limits["organization.members"]`.
    None means unlimited. Hashable, so actors can key shared live re-runs."""

    __slots__ = ("_items", "_values")

    def __init__(self, values: Mapping[str, int | None] | None = None) -> None:
        self._values = dict(values or {})
        self._items = tuple(sorted(self._values.items()))

    def __getitem__(self, kind: str) -> int | None:
        return self._values[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and self._items == other._items

    def __repr__(self) -> str:
        return f"Limits({self._values!r})"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    """The person acting; None for an API key (which acts on its own)."""
    organization_id: int
    role: Role
    """The current role: for an API key, its creator's current role."""
    capabilities: frozenset[str] = frozenset()
    """What the organization's plan grants (from the registered entitlement source)."""
    limits: Limits = field(default_factory=Limits)
    plan: str = "Free"
    """The plan's name, for messages ("The Free plan allows up to ...")."""
    auth: Authentication = SESSION
    scopes: frozenset[str] | None = None
    """An API key's permissions; None means everything the role holds."""
    api_key_id: int | None = None
    key_creator_id: int | None = None
    """An API key's creator, whose current role it acts with."""

    @property
    def auth_method(self) -> AuthMethod:
        return self.auth.method

    @property
    def impersonated(self) -> bool:
        return self.auth.operator_id is not None

    @property
    def access(self) -> tuple[int, Role, frozenset[str] | None, frozenset[str], Limits]:
        """What decides this actor's permissions: two actors with equal `access` may see
        and do the same things (though not as the same user)."""
        return (self.organization_id, self.role, self.scopes, self.capabilities, self.limits)

    @property
    def principal(self) -> str:
        """Who, for idempotency records and rate limits: `user:7` or `key:3`."""
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    auth: Authentication = SESSION

    @property
    def impersonated(self) -> bool:
        return self.auth.operator_id is not None

    @property
    def principal(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True, slots=True)
class System:
    label: str = "system"
    """Who, in words, for the audit log: "system", "Stripe", "operator ops@example.com"."""
    operator_id: int | None = None
    """The staff user acting in the admin, recorded as the row's operator."""

    @property
    def principal(self) -> str:
        return f"system:{self.label}"


SYSTEM = System()

Principal = Actor | Person | System
