"""The kernel's entitlement source (kernel/sources.py): an organization's plan and
capabilities are its active grants (billing/grants.py) on top of the free plan. The
kernel derives the domains' limits from the capabilities."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.grants import best_plan
from billing.models import Grant
from billing.plans import FREE, PLANS, Plan, paid_plans
from kernel.limits import Offer
from kernel.sources import Entitlement


@dataclass(frozen=True)
class Entitlements:
    plan: Plan
    capabilities: frozenset[str]
    valid_until: datetime | None = None
    """When the first of its grants expires."""


def entitlements_of(organization_ids: Collection[int]) -> dict[int, Entitlements]:
    """Every organization's plan and capabilities, from one query over their active grants
    (`Grant.active`). SQL written once: it runs on every request, and building the ORM
    query each time cost more than running it."""
    held: dict[int, list[tuple[str, str, datetime | None]]] = {
        organization: [] for organization in organization_ids
    }
    sql = (
        "SELECT organization_id, capability, plan, expires_at "  # noqa: S608
        f'FROM "{Grant._meta.db_table}" WHERE organization_id = ANY(%s) AND revoked_at IS NULL '
        "AND (expires_at IS NULL OR expires_at > %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(held), timezone.now()])
        for organization, capability, plan, expires_at in cursor.fetchall():
            held[organization].append((capability, plan, expires_at))
    return {
        organization: Entitlements(
            plan=PLANS[best_plan(plan for _, plan, _ in grants)],
            capabilities=FREE.capabilities | {capability for capability, _, _ in grants},
            valid_until=min((end for _, _, end in grants if end is not None), default=None),
        )
        for organization, grants in held.items()
    }


def entitlements(organization_id: int) -> Entitlements:
    return entitlements_of([organization_id])[organization_id]


class GrantEntitlements:
    def entitlements(self, organization_ids: Collection[int]) -> Mapping[int, Entitlement]:
        return {
            organization: Entitlement(
                found.plan.name, found.capabilities, valid_until=found.valid_until
            )
            for organization, found in entitlements_of(organization_ids).items()
        }

    def offers(self) -> Sequence[Offer]:
        ranked = sorted(paid_plans(), key=lambda plan: plan.rank)  # stable: catalogue order
        url = reverse("billing:plans")
        return [
            Offer(plan.name, plan.grants(), url=url, permission="billing.manage") for plan in ranked
        ]
