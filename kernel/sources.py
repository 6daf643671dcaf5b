"""What the kernel asks the apps about people and plans, without importing them.

Three sources, each registered by one app's domain manifest (kernel/manifest.py):

    directory     who belongs where: memberships, API keys with their creator's
                  current role, each organization's status and policies
                                                                (organizations)
    entitlements  each organization's plan and capabilities     (billing)
    step_up       sign-in times, step-up grants, the step-up page (accounts)
    audit_log     where audited mutations' rows go (kernel/audit.py) (organizations)

Without an entitlement source nothing is limited; without a step-up source no sensitive
action can be confirmed. A directory is required (kernel/checks.py says so).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from kernel.audit import AuditLog
from kernel.limits import LIMITS, Offer
from kernel.permissions import CATALOGUE, Role


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    user_id: int
    organization_id: int
    role: Role


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key that is valid now (known, matching, not revoked, not expired)."""

    key_id: int
    organization_id: int
    scopes: frozenset[str]
    creator_id: int | None
    creator_role: Role | None
    """The creator's current role in the key's organization; None once they have left."""
    last_used_at: datetime | None
    expires_at: datetime | None = None


class OrganizationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    """By an operator: nothing in it can be read or done until it is reactivated."""
    PENDING_DELETION = "pending_deletion"
    """Deleted by its owners, purged after the grace period unless restored."""


@dataclass(frozen=True, slots=True)
class OrganizationState:
    """What the resolver enforces about an organization, whoever acts in it."""

    organization_id: int
    status: OrganizationStatus = OrganizationStatus.ACTIVE
    reason: str = ""
    """Why it was suspended, in the operator's words (its members are shown them)."""
    deletion_due_at: datetime | None = None
    require_two_factor: bool = False
    api_key_networks: tuple[str, ...] = ()
    """CIDR networks API keys may be used from; empty: anywhere."""


@dataclass(frozen=True, slots=True)
class Entitlement:
    plan: str
    capabilities: frozenset[str]
    unlimited: bool = False
    """No limit applies (there is no entitlement source: nothing is sold)."""
    valid_until: datetime | None = None
    """When the earliest of the grants it comes from expires (None: none does)."""


class Directory(Protocol):
    def memberships(self, user_ids: Collection[int]) -> Mapping[int, Sequence[MembershipRecord]]:
        """Each active user's memberships, the one used last first (`organization_used`),
        then oldest first; none for inactive users."""
        ...

    def membership(self, user_id: int, organization_id: int) -> MembershipRecord | None:
        """The active user's membership there, if any."""
        ...

    def members(self, organization_id: int) -> Sequence[MembershipRecord]:
        """The organization's active members with their current roles (whom
        `notify_members` may tell: it keeps those whose role holds the permission)."""
        ...

    def organization_used(self, user_id: int, organization_id: int) -> None:
        """Record that the user chose to act in this organization (where they return)."""
        ...

    def api_keys(self, raw_keys: Collection[str]) -> Mapping[str, KeyRecord]:
        """The presented keys that are valid, by raw key (one query for any number)."""
        ...

    def api_keys_by_id(self, key_ids: Collection[int]) -> Mapping[int, KeyRecord]:
        """Keys still valid, by id: an API key actor re-read inside a mutation."""
        ...

    def api_key_used(self, key_id: int) -> None:
        """Record that the key was used now."""
        ...

    def organizations(self, organization_ids: Collection[int]) -> Mapping[int, OrganizationState]:
        """Each existing organization's status and policies (one query for any number)."""
        ...


class EntitlementSource(Protocol):
    def entitlements(self, organization_ids: Collection[int]) -> Mapping[int, Entitlement]:
        """Each organization's plan and capabilities (one query for any number)."""
        ...

    def offers(self) -> Sequence[Offer]:
        """The plans on sale, cheapest first: `plan_limit` messages name the one that lifts
        a limit."""
        ...


class StepUpSource(Protocol):
    def sign_in_times(self, session: Any, user: Any) -> tuple[float | None, float | None]:
        """(last sign-in, last re-authentication) of this session, as Unix times."""
        ...

    def has_grant(
        self, *, user_id: int, session_key_hash: str, action: str, organization_id: int | None
    ) -> bool: ...

    def spend_grant(
        self, *, user_id: int, session_key_hash: str, action: str, organization_id: int | None
    ) -> bool:
        """Use up a live grant (single use); False if there was none left."""
        ...

    def page_url(self, action: str, next_url: str) -> str:
        """The page where the user confirms it is them, then returns to `next_url`."""
        ...

    def has_two_factor(self, user_id: int) -> bool:
        """The person has a second factor (an authenticator app or a passkey)."""
        ...

    def two_factor_url(self) -> str:
        """Where a person sets up two-factor authentication."""
        ...


class _NothingSold:
    """No entitlement source: every capability the catalogue names, no limits."""

    def entitlements(self, organization_ids: Collection[int]) -> Mapping[int, Entitlement]:
        everything = frozenset(
            capability
            for capability in (
                *(permission.capability for permission in CATALOGUE.values()),
                *(name for limit in LIMITS.values() for name in limit.raised_by),
            )
            if capability
        )
        return {
            org: Entitlement("Unlimited", everything, unlimited=True) for org in organization_ids
        }

    def offers(self) -> Sequence[Offer]:
        return ()


@dataclass
class Sources:
    directory: Directory | None = None
    entitlements: EntitlementSource | None = None
    step_up: StepUpSource | None = None
    audit_log: AuditLog | None = None

    def require_directory(self) -> Directory:
        if self.directory is None:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured("No app registers a directory (organizations does).")
        return self.directory

    def entitlement_source(self) -> EntitlementSource:
        return self.entitlements or _NothingSold()

    def offers(self) -> Sequence[Offer]:
        return self.entitlement_source().offers()


SOURCES = Sources()


def sources() -> Sources:
    return SOURCES
