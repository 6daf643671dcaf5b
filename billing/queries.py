"""Reads of billing: the plan, its state and usage against the domains' limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from billing.models import (
    LIVE_STATUSES,
    BillingCustomer,
    Grant,
    PlanSubscription,
    SourceType,
    SubscriptionStatus,
)
from billing.plans import PLANS
from billing.providers import ENDS_AT_PERIOD_END_ONLY, PROVIDER_LABELS, get_provider
from billing.schemas import BillingOut, InvoiceOut, InvoicesOut, LimitOut, SubscriptionOut
from kernel.actor import Actor
from kernel.functions import query
from kernel.limits import LIMITS
from organizations.models import Organization
from organizations.queries import seats_used

logger = logging.getLogger(__name__)

TRIAL_WARNING: Final = timedelta(days=3)
# A context: "Open" is also a link's verb ("Öffnen"); an invoice is "offen".
INVOICE_STATUS_LABELS: Final = {
    "paid": pgettext_lazy("invoice status", "Paid"),
    "open": pgettext_lazy("invoice status", "Open"),
    "void": pgettext_lazy("invoice status", "Void"),
    "refunded": pgettext_lazy("invoice status", "Refunded"),
}


def _subscription_out(subscription: PlanSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        provider=subscription.provider,
        provider_label=PROVIDER_LABELS.get(subscription.provider, subscription.provider),
        plan=subscription.plan,
        status=subscription.status,
        status_label=subscription.get_status_display(),
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        trial_end=subscription.trial_end,
        seats=subscription.seats,
        is_live=subscription.is_live,
        can_end_now=subscription.provider not in ENDS_AT_PERIOD_END_ONLY,
    )


@query("billing.get", permission="billing.read", output=BillingOut)
def billing_get(*, actor: Actor) -> BillingOut:
    """The plan, its status and the usage of every limit the domains declare."""
    organization_id = actor.organization_id
    # The live one, else the most recent (one query for both).
    subscriptions = sorted(
        PlanSubscription.objects.for_actor(actor).order_by("-updated_at"),
        key=lambda s: not s.is_live,
    )
    latest = subscriptions[0] if subscriptions else None
    live = latest if latest is not None and latest.is_live else None
    lifetime = (
        Grant.objects.for_actor(actor)
        .filter(source_type=SourceType.ONE_TIME, revoked_at__isnull=True)
        .exists()
    )
    plan = next((p for p in PLANS.values() if p.name == actor.plan), PLANS["free"])
    period_end = live.current_period_end if live else None
    ending = live is not None and live.cancel_at_period_end
    return BillingOut(
        plan=plan.code,
        plan_name=plan.name,
        per_seat=plan.per_seat,
        status=live.status if live else "lifetime" if lifetime else "free",
        provider=live.provider if live else None,
        renews_at=None if ending else period_end,
        ends_at=period_end if ending else None,
        capabilities=sorted(actor.capabilities),
        limits=[
            LimitOut(
                kind=kind,
                label=str(limit.label),
                used=limit.count(organization_id) if limit.count else 0,
                allowed=actor.limits.get(kind),
            )
            for kind, limit in LIMITS.items()
        ],
        seats_used=seats_used(organization_id),
        trial_available=live is None and not trial_used(organization_id),
        subscription=_subscription_out(latest) if latest is not None else None,
    )


@query("billing.invoices", permission="billing.read", output=InvoicesOut)
def invoice_list(*, actor: Actor) -> InvoicesOut:
    """The organization's invoices and receipts, newest first (billing.read): asked of
    each provider the organization is a customer of, by its own customer records only,
    so no other organization's invoice can be listed. A provider that cannot be reached
    is named in `unavailable` instead of failing the page (the others are still listed).
    Runs outside any transaction: it calls the providers."""
    invoices: list[InvoiceOut] = []
    unavailable: list[str] = []
    for customer in BillingCustomer.objects.for_actor(actor).order_by("provider"):
        try:
            found = get_provider(customer.provider).invoices(customer_id=customer.external_id)
        except Exception as error:  # the SDK's errors, the network: the page still shows
            logger.warning("billing: %s invoices unavailable: %s", customer.provider, error)
            unavailable.append(str(PROVIDER_LABELS.get(customer.provider, customer.provider)))
            continue
        invoices += [
            InvoiceOut(
                provider=customer.provider,
                number=invoice.number,
                issued_at=invoice.issued_at,
                amount=invoice.amount,
                currency=invoice.currency,
                status=invoice.status,
                status_label=str(INVOICE_STATUS_LABELS.get(invoice.status, invoice.status)),
                url=invoice.url,
                pdf_url=invoice.pdf_url,
            )
            for invoice in found
        ]
    invoices.sort(key=lambda invoice: invoice.issued_at, reverse=True)
    return InvoicesOut(invoices=invoices, unavailable=unavailable)


@query("billing.banner", permission="billing.read", output=str | None)
def billing_banner(*, actor: Actor) -> str | None:
    """A past-due payment, or a trial ending soon: for the banner on every page of those
    who may read billing."""
    subscription = (
        PlanSubscription.objects.for_actor(actor)
        .filter(status__in=[SubscriptionStatus.PAST_DUE, SubscriptionStatus.TRIALING])
        .first()
    )
    if subscription is None:
        return None
    if subscription.status == SubscriptionStatus.PAST_DUE:
        return _("The last payment failed: update the payment method to keep the plan's features.")
    if subscription.trial_end and subscription.trial_end - timezone.now() < TRIAL_WARNING:
        return _("The trial ends on %(date)s. Add a payment method to keep the plan.") % {
            "date": date_format(subscription.trial_end, "DATE_FORMAT")
        }
    return None


@dataclass(frozen=True)
class ManageContext:
    """What an action needs to call the provider (the door has checked billing.manage)."""

    organization: Organization
    subscription: PlanSubscription | None
    customers: dict[str, str]
    seats: int
    """What a per-seat plan bills now (`seats_used`)."""


def manage_context(actor: Actor) -> ManageContext:
    return ManageContext(
        organization=Organization.objects.get(pk=actor.organization_id),
        subscription=live_subscriptions(actor.organization_id).first(),
        customers={c.provider: c.external_id for c in BillingCustomer.objects.for_actor(actor)},
        seats=seats_used(actor.organization_id),
    )


def seat_state(organization_id: int) -> tuple[PlanSubscription | None, int]:
    """The live per-seat subscription, if any, and the seats it should bill.

    The seat rule is the organizations app's `seats_used` — members plus pending
    invitations that have not expired — the very count its member limit checks, so what
    is billed, what the billing page shows and what may still be invited always agree."""
    subscription = live_subscriptions(organization_id).filter(plan__in=per_seat_plans()).first()
    return subscription, seats_used(organization_id)


def seat_drift() -> list[int]:
    """Internal: organizations whose live per-seat subscription bills other than the seats
    in use (database reads only; the periodic seat sync pushes them)."""
    subscriptions = PlanSubscription.objects.unscoped().filter(  # every organization's
        status__in=LIVE_STATUSES, plan__in=per_seat_plans()
    )
    return [s.organization_id for s in subscriptions if s.seats != seats_used(s.organization_id)]


def per_seat_plans() -> set[str]:
    return {code for code, plan in PLANS.items() if plan.per_seat}


def trial_used(organization_id: int) -> bool:
    """One free trial per organization: any subscription of it that had a trial (from the
    plan picker or the provider's own), whatever became of it."""
    return (
        PlanSubscription.objects.for_organization(organization_id)
        .filter(trial_end__isnull=False)
        .exists()
    )


def live_subscriptions(organization_id: int) -> QuerySet[PlanSubscription]:
    """Internal: the organization's subscriptions that grant their plan now."""
    return PlanSubscription.objects.for_organization(organization_id).filter(
        status__in=LIVE_STATUSES
    )
