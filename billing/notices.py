"""What billing tells the people who manage it (`billing.manage`: the owners), from the
webhook application path (billing/processing.py), inside the transaction of the change.

Notifications follow our copy of a subscription, not the event at hand: one is sent
when the copy changes into a state worth telling — cancelled, past due, set to end or
to change plan at the period end, on another plan now — so an event arriving late
(older than our copy) tells nobody anything. Each is keyed by the provider event (or
the reconciliation) that caused it, so a redelivery or a retried task notifies once.
Email follows by the recipients' preferences (kernel/notifications.py). The kinds are
declared in billing/domain.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from billing.events import PaymentReceived
from billing.models import PlanSubscription, SubscriptionStatus
from billing.plans import PLANS
from billing.templatetags.billing_money import money
from kernel.notifications import notify_members
from organizations.models import Organization

MANAGERS: Final = "billing.manage"
PAYMENT_RECEIVED: Final = "billing.payment_received"
PAYMENT_FAILED: Final = "billing.payment_failed"
SUBSCRIPTION_CANCELLED: Final = "billing.subscription_cancelled"
SUBSCRIPTION_ENDING: Final = "billing.subscription_ending"
PLAN_CHANGING: Final = "billing.plan_changing"
PLAN_CHANGED: Final = "billing.plan_changed"
KEY_MAX: Final = 200
"""The notification's key column."""


@dataclass(frozen=True)
class Before:
    """What a subscription was before a change: to tell what changed."""

    status: str
    cancel_at_period_end: bool
    scheduled_plan: str
    plan: str
    """The plan while it was live; "" for a subscription that was not (a new one)."""

    @classmethod
    def of(cls, subscription: PlanSubscription) -> Before:
        return cls(
            subscription.status,
            subscription.cancel_at_period_end,
            subscription.scheduled_plan,
            subscription.plan if subscription.is_live else "",
        )


def subscription_changed(before: Before, subscription: PlanSubscription, *, key: str) -> None:
    """At most one notification per change: the most important news it brings."""
    plan = _plan_name(subscription.plan)
    ends = _day(subscription)
    if subscription.status == SubscriptionStatus.CANCELED:
        if before.status != SubscriptionStatus.CANCELED:
            _notify(SUBSCRIPTION_CANCELLED, subscription, key, {"plan": plan}, "billing:plans")
    elif subscription.status == SubscriptionStatus.PAST_DUE:
        if before.status != SubscriptionStatus.PAST_DUE:
            # The billing page offers the provider's portal, where the card is updated.
            _notify(PAYMENT_FAILED, subscription, key, {"plan": plan}, "billing:page")
    elif subscription.is_live and subscription.cancel_at_period_end:
        if not before.cancel_at_period_end:
            _notify(SUBSCRIPTION_ENDING, subscription, key, {"plan": plan, "date": ends})
    elif (
        subscription.is_live
        and subscription.scheduled_plan
        and subscription.scheduled_plan != before.scheduled_plan
    ):
        later = _plan_name(subscription.scheduled_plan)
        params = {"plan": plan, "new_plan": later, "date": ends}
        _notify(PLAN_CHANGING, subscription, key, params)
    elif subscription.is_live and before.plan and before.plan != subscription.plan:
        params = {"plan": _plan_name(before.plan), "new_plan": plan}
        _notify(PLAN_CHANGED, subscription, key, params)


def payment_received(organization_id: int, payment: PaymentReceived, *, key: str) -> None:
    # The amount is stored as text: in the default language's number format, whoever's
    # request (the local provider's "Pay") happened to apply the event.
    with translation.override(None):
        amount = money(payment.amount, payment.currency)
    notify_members(
        PAYMENT_RECEIVED,
        organization_id=organization_id,
        permission=MANAGERS,
        params={
            "organization": _organization_name(organization_id),
            "amount": amount,
            "number": payment.number,
        },
        link=reverse("billing:invoices"),
        key=_key(key),
    )


def _notify(
    kind: str,
    subscription: PlanSubscription,
    key: str,
    params: dict[str, str],
    link: str = "billing:page",
) -> None:
    notify_members(
        kind,
        organization_id=subscription.organization_id,
        permission=MANAGERS,
        params={"organization": _organization_name(subscription.organization_id), **params},
        link=reverse(link),
        key=_key(key),
    )


def _key(key: str) -> str:
    """The event's key as it fits the column: a provider id may be 200 characters already."""
    if len(key) <= KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _organization_name(organization_id: int) -> str:
    return str(
        Organization.objects.filter(pk=organization_id).values_list("name", flat=True).first() or ""
    )


def _plan_name(code: str) -> str:
    plan = PLANS.get(code)
    return plan.name if plan is not None else code


def _day(subscription: PlanSubscription) -> str:
    """The period end as a date, written when the notification is made: it is stored as
    text (a notification keeps its parameters, not its sentence)."""
    end = subscription.current_period_end
    return date_format(end, "Y-m-d") if end else ""
