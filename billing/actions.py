"""Billing actions: the door checks `billing.manage`; the action reads what it needs,
calls the provider outside any transaction, then records what came back through
mutations. The provider's webhook (for the local provider too) is what changes the plan:
these never grant anything."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from billing import mutations
from billing.models import PlanSubscription
from billing.plans import Plan, get_plan
from billing.providers import (
    ENDS_AT_PERIOD_END_ONLY,
    PROVIDER_LABELS,
    checkout_provider,
    get_provider,
)
from billing.providers.base import CheckoutRequest
from billing.providers.local import LocalProvider
from billing.queries import manage_context, seat_state, trial_used
from billing.schemas import (
    Cancellation,
    CancelWhen,
    ChangePreviewOut,
    CustomerRecord,
    LocalPayment,
    OrganizationRef,
    PlanChoice,
)
from kernel import errors
from kernel.actor import SYSTEM, Actor, System
from kernel.door import call
from kernel.functions import action
from organizations.queries import seats_used

logger = logging.getLogger(__name__)


@contextmanager
def _provider_call() -> Iterator[None]:
    """Any failure of the provider's SDK (Stripe's own errors, Polar's, the network) is a
    clear message for the user, never a crash."""
    try:
        yield
    except Exception as error:
        logger.warning("billing: provider call failed: %s", error)
        raise errors.unavailable(
            message=_("The payment provider could not be reached. Please try again.")
        ) from error


def _require_price(plan: Plan, provider: str) -> None:
    if not plan.price_id(provider):
        raise errors.invalid_input(
            fields={
                "plan": [
                    _("%(plan)s has no price configured for %(provider)s.")
                    % {"plan": plan.name, "provider": provider}
                ]
            }
        )


def _billing_page() -> str:
    return f"{settings.SITE_URL}{reverse('billing:page')}"


@action("billing.checkout", permission="billing.manage", impersonable=False, output=str)
def start_checkout(*, actor: Actor, args: PlanChoice) -> str:
    """The URL to send the buyer to; they come back to the billing page."""
    return _checkout(actor, args.plan, trial=False)


@action("billing.start_trial", permission="billing.manage", impersonable=False, output=str)
def start_trial(*, actor: Actor, args: PlanChoice) -> str:
    """A plan's free trial, once per organization: the provider's checkout with its trial
    (Stripe, Polar), or a local trial at once, without payment (the local provider). Where
    to go next."""
    plan = get_plan(args.plan)
    if plan is None or not plan.trial_days:
        raise errors.invalid_input(fields={"plan": [_("This plan has no free trial.")]})
    if trial_used(actor.organization_id):
        raise errors.conflict(_("This organization has had its free trial already."))
    return _checkout(actor, plan.code, trial=True)


def _checkout(actor: Actor, plan_code: str, *, trial: bool) -> str:
    context = manage_context(actor)
    plan = get_plan(plan_code)
    if plan is None or plan.is_free:
        raise errors.invalid_input(fields={"plan": [_("Choose one of the paid plans.")]})
    if context.subscription is not None:
        raise errors.conflict(
            _("This organization already has a subscription: change or cancel it instead.")
        )
    provider = checkout_provider()
    _require_price(plan, provider.name)
    buyer = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    request = CheckoutRequest(
        organization_id=context.organization.pk,
        organization_name=context.organization.name,
        email=buyer.email if buyer else "",
        plan=plan,
        seats=context.seats if plan.per_seat else 1,
        customer_id=context.customers.get(provider.name),
        success_url=_billing_page() + ("?trial=started" if trial else "?checkout=done"),
        cancel_url=_billing_page() + "?checkout=cancelled",
        trial_days=plan.trial_days if trial else 0,
    )
    with _provider_call():
        started = provider.start_checkout(request)
    if started.customer_id:
        call(
            mutations.customer_record,
            SYSTEM,
            CustomerRecord(
                organization_id=context.organization.pk,
                provider=provider.name,
                customer_id=started.customer_id,
            ),
        )
    return started.url


@action("billing.portal", permission="billing.manage", impersonable=False, output=str)
def open_portal(*, actor: Actor) -> str:
    """The provider's page for payment details and invoices."""
    context = manage_context(actor)
    provider_name = (
        context.subscription.provider if context.subscription else checkout_provider().name
    )
    customer_id = context.customers.get(provider_name)
    if customer_id is None:
        raise errors.conflict(_("There is no billing account yet: choose a plan first."))
    with _provider_call():
        return get_provider(provider_name).portal_url(
            customer_id=customer_id, return_url=_billing_page()
        )


@action("billing.preview_change", permission="billing.manage", output=ChangePreviewOut)
def preview_change(*, actor: Actor, args: PlanChoice) -> ChangePreviewOut:
    """What changing the live subscription to the plan costs now and then per period, from
    the provider's proration preview where it has one: shown before the change is
    confirmed."""
    subscription, plan = _change_target(actor, args)
    seats = seats_used(actor.organization_id) if plan.per_seat else 1
    with _provider_call():
        preview = get_provider(subscription.provider).preview_change(
            subscription_id=subscription.external_id,
            item_id=subscription.item_id,
            plan=plan,
            seats=seats,
        )
    return ChangePreviewOut(
        plan=plan.code,
        plan_name=plan.name,
        interval=str(plan.interval),
        seats=seats,
        amount_due_now=preview.amount_due_now,
        currency=preview.currency,
        next_amount=preview.next_amount,
        exact=preview.exact,
    )


def _change_target(actor: Actor, args: PlanChoice) -> tuple[PlanSubscription, Plan]:
    subscription = _live_subscription(actor)
    plan = get_plan(args.plan)
    if plan is None or plan.is_free or plan.is_one_time:
        raise errors.invalid_input(fields={"plan": [_("Choose a subscription plan.")]})
    if plan.code == subscription.plan:
        raise errors.conflict(_("The subscription is already on %(plan)s.") % {"plan": plan.name})
    _require_price(plan, subscription.provider)
    return subscription, plan


@action("billing.change_plan", permission="billing.manage", impersonable=False)
def change_plan(*, actor: Actor, args: PlanChoice) -> None:
    """Upgrade or downgrade the live subscription (prorated at the provider; the page has
    shown `preview_change` first). The new plan applies when the provider's webhook
    confirms it."""
    subscription, plan = _change_target(actor, args)
    with _provider_call():
        get_provider(subscription.provider).change_plan(
            subscription_id=subscription.external_id, item_id=subscription.item_id, plan=plan
        )


@action("billing.cancel", permission="billing.manage", impersonable=False)
def cancel_subscription(*, actor: Actor, args: Cancellation) -> None:
    subscription = _live_subscription(actor)
    if args.when == CancelWhen.NOW and subscription.provider in ENDS_AT_PERIOD_END_ONLY:
        raise errors.conflict(
            _("%(provider)s ends a subscription at the end of its period only: cancel it then.")
            % {"provider": PROVIDER_LABELS[subscription.provider]}
        )
    with _provider_call():
        get_provider(subscription.provider).cancel(
            subscription_id=subscription.external_id,
            at_period_end=args.when == CancelWhen.PERIOD_END,
        )


@action("billing.resume", permission="billing.manage", impersonable=False)
def resume_subscription(*, actor: Actor) -> None:
    subscription = _live_subscription(actor)
    if not subscription.cancel_at_period_end:
        raise errors.conflict(_("The subscription is not set to end."))
    with _provider_call():
        get_provider(subscription.provider).resume(subscription_id=subscription.external_id)


def _live_subscription(actor: Actor) -> PlanSubscription:
    context = manage_context(actor)
    if context.subscription is None:
        raise errors.conflict(_("There is no active subscription."))
    return context.subscription


@action("billing.local_pay", permission="billing.manage", impersonable=False)
def local_pay(*, actor: Actor, args: LocalPayment) -> None:
    """ "Pay" on the local provider's checkout page (development and demos): the same
    webhook handler applies it as a real provider's event."""
    if settings.BILLING_PROVIDER != "local":
        raise errors.not_found(_("There is no local checkout on this server."))
    provider = LocalProvider()
    try:
        organization_id, plan, seats = provider.read_checkout(args.token)
    except signing.BadSignature:
        raise errors.not_found(_("This checkout link is not valid (or expired).")) from None
    if organization_id != actor.organization_id:
        raise errors.not_found(_("This checkout link is not valid (or expired)."))
    provider.pay(organization_id, plan, seats)


@action("billing.sync_seats", internal=True)
def sync_seats(*, actor: System, args: OrganizationRef) -> None:
    """Push a per-seat subscription's quantity (prorated). A provider failure raises: the
    task queue (billing/tasks.py) retries it."""
    subscription, seats = seat_state(args.organization_id)
    if subscription is None or subscription.seats == seats:
        return
    get_provider(subscription.provider).set_seats(
        subscription_id=subscription.external_id, item_id=subscription.item_id, seats=seats
    )
