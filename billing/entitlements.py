"""What an organization may do: its active grants (billing/grants.py) on top of the free
plan. The permission guard reads capabilities through the actor (resolved once per
request); seat and record checks call the limit functions inside their mutations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from billing.grants import active_grants, current_plan
from billing.plans import FREE, FREE_MEMBER_LIMIT, FREE_RECORD_LIMIT, PLANS, Plan
from kernel.permissions import FREE_CAPABILITIES

LIMIT_PREFIX: Final = "limit."
__all__ = ["FREE_MEMBER_LIMIT", "FREE_RECORD_LIMIT", "Entitlements", "entitlements"]


@dataclass(frozen=True)
class Entitlements:
    plan: Plan
    capabilities: frozenset[str]
    member_limit: int | None
    record_limit: int | None


def entitlements(organization_id: int) -> Entitlements:
    grants = active_grants(organization_id)
    granted = {grant.capability for grant in grants}
    return Entitlements(
        plan=PLANS[current_plan(grants)],
        capabilities=FREE_CAPABILITIES
        | {name for name in granted if not name.startswith(LIMIT_PREFIX)},
        member_limit=_limit(granted, "members", FREE.member_limit),
        record_limit=_limit(granted, "records", FREE.record_limit),
    )


def _limit(granted: set[str], kind: str, free: int | None) -> int | None:
    """The most generous active grant of `limit.<kind>:N`; None means unlimited."""
    values = [name.split(":", 1)[1] for name in granted if name.startswith(f"limit.{kind}:")]
    if "unlimited" in values:
        return None
    numbers = [int(value) for value in values if value.isdigit()]
    return max([*numbers, free or 0]) if numbers else free


def organization_capabilities(organization_id: int) -> frozenset[str]:
    return entitlements(organization_id).capabilities


def member_limit(organization_id: int) -> int | None:
    """Seats: members plus pending invitations. None means unlimited."""
    return entitlements(organization_id).member_limit


def record_limit(organization_id: int) -> int | None:
    """Workspace records an organization may keep. None means unlimited."""
    return entitlements(organization_id).record_limit


def plan_names(organization_id: int) -> tuple[str, str]:
    """(current plan, the plan that lifts its limits) for `plan_limit` messages."""
    current = entitlements(organization_id).plan
    higher = sorted(
        (plan for plan in PLANS.values() if plan.rank > current.rank), key=lambda p: p.rank
    )
    return current.name, (higher[0].name if higher else current.name)
