"""Billing actions: check `billing.manage` through a query, call the provider outside any
transaction, then record what came back through mutations. The provider's webhook (for
the local provider too) is what changes the plan: these never grant anything."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from billing import mutations
from billing.models import PlanSubscription
from billing.plans import Plan, get_plan
from billing.providers import checkout_provider, get_provider
from billing.providers.base import CheckoutRequest
from billing.queries import billing_manage_context, seat_state
from kernel import errors
from kernel.actions import action
from kernel.actor import Actor

logger = logging.getLogger(__name__)


@contextmanager
def _provider_call() -> Iterator[None]:
    """Any failure of the provider's SDK (Stripe's own errors, Polar's, the network) is a
    clear message for the user, never a crash."""
    try:
        yield
    except Exception as error:
        logger.warning("billing: provider call failed: %s", error)
        raise errors.server_error(
            "The payment provider could not be reached. Please try again."
        ) from error


def _require_price(plan: Plan, provider: str) -> None:
    if not plan.price_id(provider):
        raise errors.invalid_input(
            fields={"plan": [f"{plan.name} has no price configured for {provider}."]}
        )


@action
def start_checkout(
    *, actor: Actor, plan_code: str, email: str, success_url: str, cancel_url: str
) -> str:
    """The URL to send the buyer to."""
    context = billing_manage_context(actor=actor)
    plan = get_plan(plan_code)
    if plan is None or plan.is_free:
        raise errors.invalid_input(fields={"plan": ["Choose one of the paid plans."]})
    if context.subscription is not None:
        raise errors.conflict(
            "This organization already has a subscription: change or cancel it instead."
        )
    provider = checkout_provider()
    _require_price(plan, provider.name)
    request = CheckoutRequest(
        organization_id=context.organization.pk,
        organization_name=context.organization.name,
        email=email,
        plan=plan,
        seats=context.members if plan.per_seat else 1,
        customer_id=context.customers.get(provider.name),
        success_url=success_url,
        cancel_url=cancel_url,
    )
    with _provider_call():
        started = provider.start_checkout(request)
    if started.customer_id:
        mutations.customer_record(
            organization_id=context.organization.pk,
            provider=provider.name,
            customer_id=started.customer_id,
        )
    return started.url


@action
def open_portal(*, actor: Actor, return_url: str) -> str:
    context = billing_manage_context(actor=actor)
    provider_name = (
        context.subscription.provider if context.subscription else checkout_provider().name
    )
    customer_id = context.customers.get(provider_name)
    if customer_id is None:
        raise errors.conflict("There is no billing account yet: choose a plan first.")
    with _provider_call():
        return get_provider(provider_name).portal_url(
            customer_id=customer_id, return_url=return_url
        )


@action
def change_plan(*, actor: Actor, plan_code: str) -> None:
    """Upgrade or downgrade the live subscription (prorated at the provider). The new plan
    applies when the provider's webhook confirms it."""
    subscription = _live_subscription(actor)
    plan = get_plan(plan_code)
    if plan is None or plan.is_free or plan.is_one_time:
        raise errors.invalid_input(fields={"plan": ["Choose a subscription plan."]})
    if plan.code == subscription.plan:
        raise errors.conflict(f"The subscription is already on {plan.name}.")
    _require_price(plan, subscription.provider)
    with _provider_call():
        get_provider(subscription.provider).change_plan(
            subscription_id=subscription.external_id, item_id=subscription.item_id, plan=plan
        )


@action
def cancel_subscription(*, actor: Actor, at_period_end: bool = True) -> None:
    subscription = _live_subscription(actor)
    with _provider_call():
        get_provider(subscription.provider).cancel(
            subscription_id=subscription.external_id, at_period_end=at_period_end
        )


@action
def resume_subscription(*, actor: Actor) -> None:
    subscription = _live_subscription(actor)
    if not subscription.cancel_at_period_end:
        raise errors.conflict("The subscription is not set to end.")
    with _provider_call():
        get_provider(subscription.provider).resume(subscription_id=subscription.external_id)


def _live_subscription(actor: Actor) -> PlanSubscription:
    context = billing_manage_context(actor=actor)
    if context.subscription is None:
        raise errors.conflict("There is no active subscription.")
    return context.subscription


@action
def sync_seats(organization_id: int) -> None:
    """Push a per-seat subscription's quantity as soon as membership changed (prorated)."""
    subscription, members = seat_state(organization_id)
    if subscription is None or subscription.seats == members:
        return
    try:
        get_provider(subscription.provider).set_seats(
            subscription_id=subscription.external_id, item_id=subscription.item_id, seats=members
        )
    except Exception:  # the membership change stands; the next change or an operator retries
        logger.exception(
            "billing: pushing %s seats for organization %s failed", members, organization_id
        )


@action
def cancel_for_deleted_organization(subscriptions: list[tuple[str, str]]) -> None:
    """The organization is gone: end its subscriptions now, at the providers."""
    for provider, external_id in subscriptions:
        try:
            get_provider(provider).cancel(subscription_id=external_id, at_period_end=False)
        except Exception:
            logger.exception("billing: cancelling %s:%s failed", provider, external_id)
