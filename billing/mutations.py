"""Billing writes that are not provider events: customers, manual grants."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from billing.models import BillingCustomer, Grant, SourceType
from billing.plans import PLANS
from kernel import errors
from kernel.mutations import mutation
from organizations.audit import AuditAction, audit


@mutation
def customer_record(*, organization_id: int, provider: str, customer_id: str) -> None:
    BillingCustomer.objects.for_organization(organization_id).get_or_create(
        organization_id=organization_id, provider=provider, defaults={"external_id": customer_id}
    )


@mutation
def manual_grant_create(
    *, organization_id: int, plan_code: str, expires_at: datetime | None, note: str, operator: str
) -> list[Grant]:
    """An operator grants a plan's capabilities by hand (support, partners, trials)."""
    plan = PLANS.get(plan_code)
    if plan is None or plan.is_free:
        raise errors.invalid_input(fields={"plan": ["Choose a paid plan."]})
    source = f"manual:{timezone.now().strftime('%Y%m%d%H%M%S%f')}"
    grants = [
        Grant.objects.create(
            organization_id=organization_id,
            capability=capability,
            plan=plan.code,
            source=source,
            source_type=SourceType.MANUAL,
            expires_at=expires_at,
            note=note,
        )
        for capability in sorted(plan.grants())
    ]
    audit(
        organization_id=organization_id,
        action=AuditAction.GRANT_CREATE,
        actor=None,
        target=plan.name,
        source=source,
        operator=operator,
        note=note,
    )
    return grants


@mutation
def grants_revoke(*, grant_ids: list[int], operator: str) -> int:
    revoked = 0
    for grant in Grant.objects.unscoped().filter(pk__in=grant_ids, revoked_at__isnull=True):
        grant.revoked_at = timezone.now()  # operator tool: acts across organizations
        grant.save(update_fields=["revoked_at", "updated_at"])
        audit(
            organization_id=grant.organization_id,
            action=AuditAction.GRANT_REVOKE,
            actor=None,
            target=grant.capability,
            source=grant.source,
            operator=operator,
        )
        revoked += 1
    return revoked
