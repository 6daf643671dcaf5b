"""GET /api/v1/billing: the plan, its status and usage against limits (billing.read)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from billing.queries import billing_overview
from kernel.ninja import error_responses, request_actor

router = Router(tags=["billing"])


class LimitOut(Schema):
    used: int
    allowed: int | None
    """None: unlimited."""


class BillingOut(Schema):
    plan: str
    plan_name: str
    status: str
    """free, lifetime, or the subscription's: trialing, active, past_due, canceled, …"""
    provider: str | None
    renews_at: datetime | None
    ends_at: datetime | None
    """Set when the subscription is cancelled at the period end."""
    capabilities: list[str]
    seats: LimitOut
    records: LimitOut


@router.get(
    "/billing",
    response=BillingOut,
    summary="The organization's plan, status and usage",
    openapi_extra=error_responses(401, 403, 429),
)
def billing(request: HttpRequest) -> BillingOut:
    overview = billing_overview(actor=request_actor(request))
    entitlements, subscription = overview.entitlements, overview.subscription
    live = subscription if subscription is not None and subscription.is_live else None
    period_end = live.current_period_end if live else None
    ending = live is not None and live.cancel_at_period_end
    return BillingOut(
        plan=entitlements.plan.code,
        plan_name=entitlements.plan.name,
        status=live.status if live else "lifetime" if overview.lifetime else "free",
        provider=live.provider if live else None,
        renews_at=None if ending else period_end,
        ends_at=period_end if ending else None,
        capabilities=sorted(entitlements.capabilities),
        seats=LimitOut(used=overview.usage.seats_used, allowed=entitlements.member_limit),
        records=LimitOut(used=overview.usage.records, allowed=entitlements.record_limit),
    )
