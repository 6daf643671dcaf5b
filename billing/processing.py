"""What provider events change: helpers of the internal mutation `billing.apply_event`
(billing/mutations.py), run inside its transaction. What an event cannot be applied to
raises CannotApply: the event is kept as failed, with the reason, for an operator."""

from __future__ import annotations

import logging

from billing.events import (
    CannotApply,
    Change,
    InvoicePaid,
    OneTimePurchase,
    Refund,
    SubscriptionState,
)
from billing.grants import grant_purchase, revoke_source, sync_subscription_grants
from billing.models import BillingCustomer, PlanSubscription, SubscriptionStatus
from billing.plans import get_plan
from organizations.models import Organization
from organizations.queries import seats_used

logger = logging.getLogger(__name__)


def apply_change(change: Change) -> int | None:
    """Apply one change; the organization it concerned, or None when there is nothing to
    do (the end of a subscription whose organization is gone)."""
    match change:
        case SubscriptionState():
            return _apply_subscription(change)
        case InvoicePaid():
            return _apply_invoice(change)
        case OneTimePurchase():
            organization_id = _organization(
                change.provider, change.organization_id, change.customer_id
            )
            if organization_id is not None:
                _remember_customer(organization_id, change.provider, change.customer_id)
                grant_purchase(
                    organization_id,
                    f"{change.provider}:payment:{change.payment_id}",
                    change.plan.code,
                )
            return organization_id
        case Refund():
            return revoke_source(f"{change.provider}:payment:{change.payment_id}")


def _apply_subscription(state: SubscriptionState) -> int | None:
    organization_id = _organization(
        state.provider,
        state.organization_id,
        state.customer_id,
        ending=state.status == SubscriptionStatus.CANCELED,
    )
    if organization_id is None:
        return None
    subscription = _subscription_for_update(state.provider, state.external_id, organization_id)
    if _is_newer(state, subscription):
        subscription.plan = state.plan.code
        subscription.status = state.status
        subscription.seats = state.seats
        subscription.current_period_end = state.current_period_end
        subscription.cancel_at_period_end = state.cancel_at_period_end
        subscription.trial_end = state.trial_end
        subscription.ended_at = state.ended_at
        subscription.item_id = state.item_id or subscription.item_id
        subscription.state_as_of = state.as_of
        subscription.save()
    _remember_customer(organization_id, state.provider, state.customer_id)
    sync_subscription_grants(subscription)
    _follow_seat_rule(subscription)
    return organization_id


def _follow_seat_rule(subscription: PlanSubscription) -> None:
    """A per-seat subscription the provider bills for other than the seats in use (bought
    before an invitation, or a stale event) gets the count pushed, with this change."""
    plan = get_plan(subscription.plan)
    if plan is None or not plan.per_seat or not subscription.is_live:
        return
    if subscription.seats != seats_used(subscription.organization_id):
        from billing.tasks import push_seats  # the tasks module applies events: import late

        push_seats.enqueue(subscription.organization_id)


def _is_newer(state: SubscriptionState, subscription: PlanSubscription) -> bool:
    """An older event never overwrites newer state. Within the same instant (providers
    stamp events to the second) the later arrival wins, except over the end."""
    if subscription.state_as_of is None:
        return True
    if state.as_of != subscription.state_as_of:
        return state.as_of > subscription.state_as_of
    return (
        subscription.status != SubscriptionStatus.CANCELED
        or state.status == SubscriptionStatus.CANCELED
    )


def _apply_invoice(paid: InvoicePaid) -> int | None:
    subscription = (
        PlanSubscription.objects.unscoped()  # by the provider's id: the org is not known yet
        .select_for_update()
        .filter(provider=paid.provider, external_id=paid.subscription_id)
        .first()
    )
    if subscription is None:  # the invoice came before the subscription's own events
        organization_id = _organization(paid.provider, paid.organization_id, "")
        if organization_id is None or paid.plan is None:
            raise CannotApply(
                "An invoice for a subscription we do not know names no price in the catalogue."
            )
        subscription = _subscription_for_update(
            paid.provider, paid.subscription_id, organization_id
        )
        subscription.plan = paid.plan.code
    if subscription.paid_through is None or paid.period_end > subscription.paid_through:
        subscription.paid_through = paid.period_end
    subscription.save()
    sync_subscription_grants(subscription)
    return subscription.organization_id


def _subscription_for_update(
    provider: str, external_id: str, organization_id: int
) -> PlanSubscription:
    subscription, _ = (
        PlanSubscription.objects.unscoped()
        .select_for_update()
        .get_or_create(
            provider=provider,
            external_id=external_id,
            defaults={"organization_id": organization_id, "plan": "free"},
        )
    )
    return subscription


def _organization(
    provider: str, organization_id: int | None, customer_id: str, *, ending: bool = False
) -> int | None:
    """The organization an event is about: from its metadata, else by the customer.
    None for an ending of an organization that is gone (deleting one cancels its
    subscriptions, and the provider then says so); anything else for an organization
    that does not exist cannot be applied — someone may be paying for nothing."""
    if organization_id is None and customer_id:
        customer = (
            BillingCustomer.objects.unscoped()  # by the provider's customer id
            .filter(provider=provider, external_id=customer_id)
            .first()
        )
        organization_id = customer.organization_id if customer else None
    if organization_id is None:
        raise CannotApply(
            "The event does not say which organization it is for: no organization id in"
            " its metadata, and no customer we know."
        )
    if not Organization.objects.filter(pk=organization_id).exists():
        if ending:
            logger.info("billing: end for deleted organization %s ignored", organization_id)
            return None
        raise CannotApply(f"Organization {organization_id} does not exist.")
    return organization_id


def _remember_customer(organization_id: int, provider: str, customer_id: str) -> None:
    if customer_id:
        owner = (
            BillingCustomer.objects.unscoped()  # by the provider's customer id
            .filter(provider=provider, external_id=customer_id)
            .values_list("organization_id", flat=True)
            .first()
        )
        if owner is not None and owner != organization_id:
            raise CannotApply(
                f"Customer {customer_id} is organization {owner}'s, but the event names"
                f" organization {organization_id}."
            )
        BillingCustomer.objects.unscoped().get_or_create(
            organization_id=organization_id,
            provider=provider,
            defaults={"external_id": customer_id},
        )
