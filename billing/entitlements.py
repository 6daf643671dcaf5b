"""The kernel's entitlement source (kernel/sources.py): an organization's plan and
capabilities are its active grants (billing/grants.py) on top of the free plan. The
kernel derives the domains' limits from the capabilities."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from django.utils import timezone

from billing.grants import current_plan
from billing.models import Grant
from billing.plans import FREE, PLANS, Plan, paid_plans
from kernel.limits import Offer
from kernel.sources import Entitlement


@dataclass(frozen=True)
class Entitlements:
    plan: Plan
    capabilities: frozenset[str]


def entitlements_of(organization_ids: Collection[int]) -> dict[int, Entitlements]:
    """Every organization's plan and capabilities, from one query over their grants."""
    grants: dict[int, list[Grant]] = {organization: [] for organization in organization_ids}
    active = Grant.objects.unscoped().filter(  # by organization id, for these only
        Grant.active(timezone.now()), organization_id__in=grants
    )
    for grant in active:
        grants[grant.organization_id].append(grant)
    return {
        organization: Entitlements(
            plan=PLANS[current_plan(held)],
            capabilities=FREE.capabilities | {grant.capability for grant in held},
        )
        for organization, held in grants.items()
    }


def entitlements(organization_id: int) -> Entitlements:
    return entitlements_of([organization_id])[organization_id]


class GrantEntitlements:
    def entitlements(self, organization_ids: Collection[int]) -> Mapping[int, Entitlement]:
        return {
            organization: Entitlement(found.plan.name, found.capabilities)
            for organization, found in entitlements_of(organization_ids).items()
        }

    def offers(self) -> Sequence[Offer]:
        ranked = sorted(paid_plans(), key=lambda plan: plan.rank)  # stable: catalogue order
        return [Offer(plan.name, plan.grants()) for plan in ranked]
