"""Billing emails are notifications to the organization's billing managers (the owners),
made while a provider's event is applied: each once, however often the event is
delivered and the queue is run; never to plain members, admins without billing.manage,
or another organization's people."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from billing.models import WebhookEvent
from kernel.models import Notification
from kernel.notifications import notification_text
from kernel.permissions import Role
from tests.billing.conftest import (
    DAY,
    polar_event,
    post_polar,
    post_stripe,
    stripe_event,
    stripe_invoice_paid,
    stripe_subscription,
)
from tests.factories import MembershipFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
T0 = int(time.time()) - 600


@pytest.fixture
def people(org: Any, other_org: Any) -> dict[str, Any]:
    """An owner (billing.manage), an admin (billing.read only), a member, and the owner of
    another organization; everybody's inbox empty."""
    found = {
        "owner": MembershipFactory(organization=org, role=Role.OWNER),
        "admin": MembershipFactory(organization=org, role=Role.ADMIN),
        "member": MembershipFactory(organization=org, role=Role.MEMBER),
        "stranger": MembershipFactory(organization=other_org, role=Role.OWNER),
    }
    run_tasks()
    mail.outbox.clear()
    return found


def delivered_twice(post: Any, event: dict[str, Any], **signing: Any) -> None:
    """Deliver, run the queue, deliver again (the provider's retry), run it twice more."""
    client = Client()
    assert post(client, event, **signing).status_code == 200
    assert post(client, event, **signing).json() == {"outcome": "duplicate"}
    run_tasks()
    run_tasks()


def told_once(people: dict[str, Any], kind: str) -> tuple[Notification, Any]:
    """The owner has exactly one notification of `kind` and one email of it; nobody else
    has any."""
    owner = people["owner"]
    (notice,) = Notification.objects.filter(kind=kind)
    assert notice.user_id == owner.user_id
    assert notice.organization_id == owner.organization_id
    others = [people[name].user_id for name in ("admin", "member", "stranger")]
    assert not Notification.objects.filter(user_id__in=others).exists()
    emails = [message for message in mail.outbox if message.to == [owner.user.email]]
    assert len(emails) == 1, [m.subject for m in mail.outbox]
    assert len(mail.outbox) == 1, [m.to for m in mail.outbox]
    return notice, emails[0]


def subscribed(org: Any, **fields: Any) -> None:
    """The organization has a live Stripe subscription, already applied (nobody told)."""
    post_stripe(Client(), stripe_event("customer.subscription.created",
                                       stripe_subscription(org.pk, **fields), T0))  # fmt: skip
    Notification.objects.all().delete()
    mail.outbox.clear()


def test_a_paid_invoice_tells_the_owner_once_with_a_link_to_the_invoices(people, org):
    subscribed(org)
    invoice = stripe_invoice_paid(org.pk, period_end=T0 + 30 * DAY)
    invoice |= {"amount_paid": 1_500, "currency": "usd", "number": "ACME-0001"}
    delivered_twice(post_stripe, stripe_event("invoice.paid", invoice, T0 + 10))
    notice, email = told_once(people, "billing.payment_received")
    assert notice.link == "/billing/invoices/"
    assert "15.00 USD" in notification_text(notice)
    assert "Acme" in notification_text(notice)
    assert "/billing/invoices/" in email.body


def test_a_failed_payment_tells_the_owner_once_with_the_way_to_fix_it(people, org):
    subscribed(org)
    past_due = stripe_subscription(org.pk, status="past_due")
    delivered_twice(post_stripe, stripe_event("customer.subscription.updated", past_due, T0 + 10))
    notice, email = told_once(people, "billing.payment_failed")
    assert notice.link == "/billing/"  # where the provider's portal updates the card
    assert "Update your payment method" in notification_text(notice)
    assert "/billing/" in email.body
    # Still past due a minute later: no news, nobody told again.
    again = stripe_event("customer.subscription.updated", past_due, T0 + 70)
    delivered_twice(post_stripe, again)
    assert Notification.objects.filter(kind="billing.payment_failed").count() == 1


def test_a_cancellation_at_period_end_then_the_end_tell_the_owner_once_each(people, org):
    subscribed(org)
    ending = stripe_subscription(org.pk, cancel_at_period_end=True, period_end=T0 + 30 * DAY)
    delivered_twice(post_stripe, stripe_event("customer.subscription.updated", ending, T0 + 10))
    notice, _ = told_once(people, "billing.subscription_ending")
    assert notice.params["plan"] == "Pro"
    assert notice.params["date"] in notification_text(notice)

    mail.outbox.clear()
    ended = stripe_subscription(org.pk, status="canceled", ended_at=T0 + 20)
    delivered_twice(post_stripe, stripe_event("customer.subscription.deleted", ended, T0 + 20))
    notice, _ = told_once(people, "billing.subscription_cancelled")
    assert notice.link == "/billing/plans/"


def test_an_end_that_arrives_before_the_creation_tells_once_and_the_late_creation_nothing(
    people, org
):
    ended = stripe_subscription(org.pk, status="canceled", ended_at=T0 + 20)
    delivered_twice(post_stripe, stripe_event("customer.subscription.deleted", ended, T0 + 20))
    delivered_twice(post_stripe, stripe_event("customer.subscription.created",
                                              stripe_subscription(org.pk), T0))  # fmt: skip
    told_once(people, "billing.subscription_cancelled")
    assert Notification.objects.count() == 1


def test_a_plan_changed_now_tells_the_owner_once_and_a_new_subscription_no_change(people, org):
    subscribed(org)
    yearly = stripe_subscription(org.pk, price="price_pro_yearly")
    delivered_twice(post_stripe, stripe_event("customer.subscription.updated", yearly, T0 + 10))
    notice, email = told_once(people, "billing.plan_changed")
    assert notice.params == {"organization": org.name, "plan": "Pro", "new_plan": "Pro (yearly)"}
    assert notice.link == "/billing/"
    assert "Pro (yearly)" in email.body
    # An older event that still names the monthly plan changes nothing and tells nobody.
    late = stripe_event("customer.subscription.updated", stripe_subscription(org.pk), T0 + 5)
    delivered_twice(post_stripe, late)
    assert Notification.objects.filter(kind="billing.plan_changed").count() == 1


def test_a_polar_plan_change_at_period_end_and_a_paid_order_tell_the_owner(people, org):
    subscription = {
        "id": "polar_sub_1", "status": "active", "product_id": "prod_team_monthly",
        "customer_id": "polar_cus_1", "current_period_end": "2099-01-01T00:00:00Z",
        "cancel_at_period_end": False, "seats": 2, "metadata": {"organization_id": org.pk},
    }  # fmt: skip
    post_polar(Client(), polar_event("subscription.active", subscription))
    assert not Notification.objects.exists()  # a new subscription is no news to mail
    downgrade = {**subscription, "pending_update": {"product_id": "prod_pro_monthly",
                                                    "applies_at": "2099-01-01T00:00:00Z"}}  # fmt: skip
    event = polar_event("subscription.updated", downgrade)
    delivered_twice(post_polar, event, message_id="msg_downgrade")
    notice, _ = told_once(people, "billing.plan_changing")
    assert (notice.params["plan"], notice.params["new_plan"]) == ("Team", "Pro")
    assert notice.params["date"] == "2099-01-01"

    mail.outbox.clear()
    order = {
        "id": "ord_9", "status": "paid", "subscription_id": "polar_sub_1",
        "product_id": "prod_team_monthly", "customer_id": "polar_cus_1", "total_amount": 2_400,
        "currency": "usd", "metadata": {"organization_id": org.pk},
    }  # fmt: skip
    delivered_twice(post_polar, polar_event("order.paid", order), message_id="msg_order")
    notice, _ = told_once(people, "billing.payment_received")
    assert "24.00 USD" in notification_text(notice)


def test_the_local_providers_payment_tells_the_owner(people, org, providers):
    from tests.conftest import client_for

    providers.BILLING_PROVIDER = "local"
    owner = client_for(people["owner"])
    checkout = owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"]
    owner.post(checkout, HTTP_ACCEPT_LANGUAGE="de")  # applied in a German request
    run_tasks()
    run_tasks()
    notice, _ = told_once(people, "billing.payment_received")
    assert notice.params["amount"] == "15.00 USD"  # stored in the default language's format
    assert WebhookEvent.objects.get().status == "processed"


def test_another_organizations_event_tells_this_one_nothing(people, org, other_org):
    subscribed(other_org, id="sub_theirs")
    past_due = stripe_subscription(other_org.pk, id="sub_theirs", status="past_due")
    delivered_twice(post_stripe, stripe_event("customer.subscription.updated", past_due, T0 + 10))
    (notice,) = Notification.objects.all()
    assert notice.user_id == people["stranger"].user_id
    assert [m.to for m in mail.outbox] == [[people["stranger"].user.email]]
