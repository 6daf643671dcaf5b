"""What provider events change: helpers of the internal mutation `billing.apply_event`
(billing/mutations.py), run inside its transaction. What an event cannot be applied to
raises CannotApply: the event is kept as failed, with the reason, for an operator."""

from __future__ import annotations

import logging

from billing import notices
from billing.events import (
    CannotApply,
    Change,
    InvoicePaid,
    OneTimePurchase,
    PaymentReceived,
    Refund,
    SubscriptionState,
)
from billing.grants import sync_purchase_grants, sync_subscription_grants
from billing.models import (
    BillingCustomer,
    PlanSubscription,
    Purchase,
    Receipt,
    SubscriptionStatus,
)
from billing.plans import get_plan
from organizations.models import Organization
from organizations.queries import seats_used

logger = logging.getLogger(__name__)


def apply_change(change: Change, *, key: str) -> int | None:
    """Apply one change; the organization it concerned, or None when there is nothing to
    do (the end of a subscription whose organization is gone). `key` names the event (or
    the reconciliation) it came from: what it tells billing managers is told once."""
    match change:
        case SubscriptionState():
            return _apply_subscription(change, key)
        case InvoicePaid():
            return _apply_invoice(change)
        case OneTimePurchase():
            return _apply_purchase(change)
        case Refund():
            return _apply_refund(change)
        case PaymentReceived():
            return _apply_payment(change, key)


def _apply_subscription(state: SubscriptionState, key: str) -> int | None:
    organization_id = _organization(
        state.provider,
        state.organization_id,
        state.customer_id,
        ending=state.status == SubscriptionStatus.CANCELED,
    )
    if organization_id is None:
        return None
    subscription = _subscription_for_update(state.provider, state.external_id, organization_id)
    before = notices.Before.of(subscription)
    if _is_newer(state, subscription):
        subscription.plan = state.plan.code
        subscription.status = state.status
        subscription.seats = state.seats
        subscription.current_period_end = state.current_period_end
        subscription.cancel_at_period_end = state.cancel_at_period_end
        subscription.trial_end = state.trial_end
        subscription.ended_at = state.ended_at
        subscription.scheduled_plan = state.scheduled_plan
        subscription.item_id = state.item_id or subscription.item_id
        subscription.state_as_of = state.as_of
        subscription.save()
        notices.subscription_changed(before, subscription, key=key)
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
    if state.creates:  # the first state of all: whatever else has this second came after
        return False
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


def _apply_purchase(purchase: OneTimePurchase) -> int | None:
    organization_id = _organization(
        purchase.provider, purchase.organization_id, purchase.customer_id
    )
    if organization_id is None:
        return None
    _remember_customer(organization_id, purchase.provider, purchase.customer_id)
    row = _purchase_for_update(purchase.provider, purchase.payment_id, organization_id)
    row.plan = purchase.plan.code
    row.paid_at = purchase.paid_at
    row.save()
    sync_purchase_grants(row)  # a refund that came first is on the row: nothing granted
    return organization_id


def _apply_refund(refund: Refund) -> int | None:
    """Revoke what the purchase granted, as of the refund; a refund of a purchase not
    seen yet is kept on the purchase's row, which the purchase then finds."""
    row = (
        Purchase.objects.unscoped()  # by the provider's id: the org is not known yet
        .select_for_update()
        .filter(provider=refund.provider, external_id=refund.payment_id)
        .first()
    )
    if row is None:
        organization_id = _organization(
            refund.provider, refund.organization_id, refund.customer_id, ending=True
        )
        if organization_id is None:
            return None
        row = _purchase_for_update(refund.provider, refund.payment_id, organization_id)
    if row.refunded_at is None or refund.refunded_at < row.refunded_at:
        row.refunded_at = refund.refunded_at  # the first refund, whatever arrives when
        row.save()
    sync_purchase_grants(row)
    if refund.provider == "local":
        Receipt.objects.for_organization(row.organization_id).filter(
            reference=refund.payment_id, refunded_at__isnull=True
        ).update(refunded_at=row.refunded_at)
    return row.organization_id


def _purchase_for_update(provider: str, payment_id: str, organization_id: int) -> Purchase:
    row, _ = (
        Purchase.objects.unscoped()
        .select_for_update()
        .get_or_create(
            provider=provider, external_id=payment_id, defaults={"organization_id": organization_id}
        )
    )
    if row.organization_id != organization_id:
        raise CannotApply(
            f"Payment {payment_id} is organization {row.organization_id}'s, but the event"
            f" names organization {organization_id}."
        )
    return row


def _apply_payment(payment: PaymentReceived, key: str) -> int | None:
    """A receipt: the local provider keeps its own (the others keep theirs). A receipt
    for no organization we know tells nobody anything: the purchase says the rest."""
    try:
        organization_id = _organization(
            payment.provider, payment.organization_id, payment.customer_id, ending=True
        )
    except CannotApply:
        return None
    if organization_id is None:
        return None
    if payment.provider == "local":
        Receipt.objects.for_organization(organization_id).get_or_create(
            reference=payment.reference,
            defaults={
                "organization_id": organization_id,
                "amount": payment.amount,
                "currency": payment.currency,
                "issued_at": payment.paid_at,
            },
        )
    notices.payment_received(organization_id, payment, key=key)
    return organization_id


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
