"""Well-formed events that cannot be applied: stored as failed with the reason, answered
2xx so the provider stops retrying, shown in the admin, and reprocessed once fixed."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from billing.entitlements import entitlements
from billing.models import BillingCustomer, EventStatus, Grant, PlanSubscription, WebhookEvent
from tests.accounts.helpers import make_verified_user, operator_client
from tests.billing.conftest import (
    PRICES,
    polar_event,
    post_polar,
    post_stripe,
    stripe_event,
    stripe_invoice_paid,
    stripe_subscription,
)
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
DIGITS = "0123456789"
ARABIC_INDIC = str.maketrans(DIGITS, "".join(chr(0x0660 + d) for d in range(10)))
FULLWIDTH = str.maketrans(DIGITS, "".join(chr(0xFF10 + d) for d in range(10)))
SUPERSCRIPT = str.maketrans(DIGITS, "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


@pytest.fixture
def operator() -> Client:
    return operator_client()


def answered(response: Any) -> str:
    """The delivery was acknowledged at once; what processing then made of it."""
    assert (response.status_code, response.json()) == (200, {"outcome": "received"})
    return WebhookEvent.objects.latest("pk").status


def failed_event() -> WebhookEvent:
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED
    return event


def assert_not_applied(organization_id: int) -> None:
    assert not PlanSubscription.objects.for_organization(organization_id).exists()
    assert not Grant.objects.for_organization(organization_id).exists()
    assert entitlements(organization_id).plan.code == "free"


def assert_admin_shows(operator: Client, event: WebhookEvent, words: str) -> None:
    detail = operator.get(f"/admin/billing/webhookevent/{event.pk}/change/")
    assert words in detail.content.decode()
    listing = operator.get("/admin/billing/webhookevent/?status__exact=failed")
    assert [e.pk for e in listing.context["cl"].result_list] == [event.pk]
    assert words[:40] in listing.content.decode()


def test_an_unknown_price_is_stored_failed_acknowledged_and_shown(
    client: Client, operator: Client, org: Any
) -> None:
    event = stripe_event(
        "customer.subscription.created", stripe_subscription(org.pk, price="price_retired")
    )
    response = post_stripe(client, event)
    assert answered(response) == "failed"
    stored = failed_event()
    assert stored.error == "Stripe price 'price_retired' is not in the plan catalogue."
    assert stored.attempts == 1
    assert_not_applied(org.pk)
    assert_admin_shows(operator, stored, "price_retired")


def test_an_unknown_polar_product_is_stored_failed(client: Client, org: Any) -> None:
    data = {"id": "polar_sub_1", "status": "active", "product_id": "prod_retired",
            "metadata": {"organization_id": org.pk}}  # fmt: skip
    response = post_polar(client, polar_event("subscription.active", data))
    assert answered(response) == "failed"
    assert "prod_retired" in failed_event().error
    assert_not_applied(org.pk)


@pytest.mark.parametrize("style", ["arabic_indic", "superscript", "fullwidth", "signed"])
def test_an_organization_id_in_other_digits_is_no_id(
    client: Client, operator: Client, org: Any, style: str
) -> None:
    """'٣'.isdigit() and int('٣') == 3: the event must not land on organization 3."""
    written = {
        "arabic_indic": str(org.pk).translate(ARABIC_INDIC),
        "superscript": str(org.pk).translate(SUPERSCRIPT),
        "fullwidth": str(org.pk).translate(FULLWIDTH),
        "signed": f"+{org.pk}",
    }[style]
    subscription = stripe_subscription(org.pk)
    subscription["metadata"]["organization_id"] = written
    response = post_stripe(client, stripe_event("customer.subscription.created", subscription))
    assert answered(response) == "failed"
    stored = failed_event()
    assert stored.error == (
        f"The event's organization id {written!r} is not a number in ASCII digits."
    )
    assert stored.organization_id is None
    assert_not_applied(org.pk)
    assert not BillingCustomer.objects.unscoped().exists()
    assert_admin_shows(operator, stored, "is not a number in ASCII digits")


def test_a_polar_organization_id_in_arabic_digits_is_no_id(client: Client, org: Any) -> None:
    data = {"id": "polar_sub_1", "status": "active", "product_id": "prod_pro_monthly",
            "metadata": {"organization_id": str(org.pk).translate(ARABIC_INDIC)}}  # fmt: skip
    response = post_polar(client, polar_event("subscription.active", data))
    assert answered(response) == "failed"
    assert "ASCII digits" in failed_event().error
    assert_not_applied(org.pk)


def test_a_checkout_reference_in_arabic_digits_is_no_id(client: Client, org: Any) -> None:
    session = {
        "id": "cs_1", "mode": "payment", "payment_status": "paid", "payment_intent": "pi_1",
        "customer": "cus_1", "metadata": {"plan": "pro_lifetime"},
        "client_reference_id": str(org.pk).translate(ARABIC_INDIC),
    }  # fmt: skip
    response = post_stripe(client, stripe_event("checkout.session.completed", session))
    assert answered(response) == "failed"
    assert_not_applied(org.pk)


def test_an_organization_that_does_not_exist_is_stored_failed(
    client: Client, operator: Client, org: Any
) -> None:
    missing = org.pk + 10_000
    response = post_stripe(
        client, stripe_event("customer.subscription.created", stripe_subscription(missing))
    )
    assert answered(response) == "failed"
    stored = failed_event()
    assert stored.error == f"Organization {missing} does not exist."
    assert not PlanSubscription.objects.unscoped().exists()
    assert_admin_shows(operator, stored, f"Organization {missing} does not exist.")


def test_a_purchase_for_an_organization_that_does_not_exist_is_stored_failed(
    client: Client, org: Any
) -> None:
    session = {
        "id": "cs_1", "mode": "payment", "payment_status": "paid", "payment_intent": "pi_1",
        "customer": "cus_1", "metadata": {"plan": "pro_lifetime",
                                          "organization_id": str(org.pk + 10_000)},
    }  # fmt: skip
    response = post_stripe(client, stripe_event("checkout.session.completed", session))
    assert answered(response) == "failed"
    assert "does not exist" in failed_event().error
    assert not Grant.objects.unscoped().exists()


def test_the_end_of_a_deleted_organizations_subscription_is_ignored(client: Client) -> None:
    """Deleting an organization cancels its subscriptions; the provider then says so."""
    ended = stripe_subscription(987_654, status="canceled")
    response = post_stripe(client, stripe_event("customer.subscription.deleted", ended))
    assert answered(response) == "ignored"
    assert WebhookEvent.objects.get().error == ""


def test_an_event_that_names_no_organization_is_stored_failed(client: Client, org: Any) -> None:
    subscription = stripe_subscription(org.pk)
    subscription["metadata"] = {}
    subscription["customer"] = "cus_nobody"
    response = post_stripe(client, stripe_event("customer.subscription.created", subscription))
    assert answered(response) == "failed"
    assert "does not say which organization" in failed_event().error


def test_another_organizations_customer_is_stored_failed(
    client: Client, org: Any, other_org: Any
) -> None:
    post_stripe(
        client,
        stripe_event("customer.subscription.created", stripe_subscription(other_org.pk)),
    )
    taken = stripe_subscription(org.pk, id="sub_mine")
    taken["customer"] = f"cus_{other_org.pk}"
    response = post_stripe(client, stripe_event("customer.subscription.created", taken))
    assert answered(response) == "failed"
    failed = WebhookEvent.objects.get(status=EventStatus.FAILED)
    assert f"organization {other_org.pk}'s" in failed.error
    assert_not_applied(org.pk)  # nothing half-written: the subscription rolled back too


def _subscription_with(**item: Any) -> Any:
    def change(subscription: dict[str, Any]) -> dict[str, Any]:
        subscription["items"]["data"][0].update(item)
        return subscription

    return change


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("no_items", "IndexError"),
        ("quantity_in_words", "'lots' is not a number"),
        ("quantity_negative", "quantity -3 is out of range"),
        ("quantity_beyond_a_column", "quantity 4294967296 is out of range"),
        ("quantity_in_arabic_digits", "'٣' is not a number"),
        ("metadata_a_list", "AttributeError"),
        ("period_end_1e20", "is out of range"),
        ("id_too_long", "is not a provider id"),
        ("customer_an_object", "is not a provider id"),
    ],
)
def test_data_we_cannot_read_is_stored_failed(
    client: Client, org: Any, case: str, words: str
) -> None:
    subscription = stripe_subscription(org.pk)
    item = subscription["items"]["data"][0]
    match case:
        case "no_items":
            subscription["items"]["data"] = []
        case "quantity_in_words":
            item["quantity"] = "lots"
        case "quantity_negative":
            item["quantity"] = -3
        case "quantity_beyond_a_column":
            item["quantity"] = 2**32
        case "quantity_in_arabic_digits":
            item["quantity"] = "٣"
        case "metadata_a_list":
            subscription["metadata"] = ["organization_id"]
        case "period_end_1e20":
            item["current_period_end"] = 10**20
        case "id_too_long":
            subscription["id"] = "sub_" + "x" * 300
        case "customer_an_object":
            subscription["customer"] = {"id": "cus_1"}
    response = post_stripe(client, stripe_event("customer.subscription.created", subscription))
    assert answered(response) == "failed"
    assert words in failed_event().error
    assert_not_applied(org.pk)


def test_polar_statuses_longer_than_ours_are_mapped(client: Client, org: Any) -> None:
    data = {"id": "polar_sub_1", "status": "incomplete_expired", "product_id": "prod_pro_monthly",
            "metadata": {"organization_id": org.pk}}  # fmt: skip
    response = post_polar(client, polar_event("subscription.updated", data))
    assert answered(response) == "processed"
    assert PlanSubscription.objects.for_organization(org.pk).get().status == "canceled"


def reprocess(operator: Client, *events: WebhookEvent) -> str:
    response = operator.post(
        "/admin/billing/webhookevent/",
        {"action": "reprocess", "_selected_action": [event.pk for event in events]},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(message) for message in response.context["messages"])


def test_a_failed_event_is_reprocessed_from_the_admin_once_fixed_and_audited(
    client: Client, operator: Client, org: Any, settings: Any
) -> None:
    event = stripe_event(
        "customer.subscription.created", stripe_subscription(org.pk, price="price_new_pro")
    )
    assert answered(post_stripe(client, event)) == "failed"
    stored = failed_event()

    assert reprocess(operator, stored) == "Queued 1 event(s) for reprocessing."
    stored.refresh_from_db()
    assert stored.attempts == 1  # queued, not run: the worker runs it
    assert run_tasks() == 1
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == (EventStatus.FAILED, 2)  # still not fixed

    settings.BILLING_PRICE_IDS = {**PRICES, "STRIPE_PRICE_PRO_MONTHLY": "price_new_pro"}
    reprocess(operator, stored)
    run_tasks()
    stored.refresh_from_db()
    assert (stored.status, stored.error, stored.attempts) == (EventStatus.PROCESSED, "", 3)
    assert entitlements(org.pk).plan.code == "pro_monthly"

    log = LogEntry.objects.filter(object_id=str(stored.pk)).order_by("pk")
    assert [entry.change_message for entry in log] == ["Queued for reprocessing."] * 2
    assert {entry.user.email for entry in log} == {"ops@example.com"}
    history = operator.get(f"/admin/billing/webhookevent/{stored.pk}/history/")
    assert "Queued for reprocessing." in history.content.decode()

    assert reprocess(operator, stored) == (
        "Queued 0 event(s) for reprocessing; 1 already applied or ignored."
    )
    assert run_tasks() == 0
    assert post_stripe(client, event).json() == {"outcome": "duplicate"}  # and never again
    assert Grant.objects.for_organization(org.pk).count() == len(entitlements(org.pk).plan.grants())


def test_a_redelivery_of_a_failed_event_is_processed_again(
    client: Client, org: Any, settings: Any
) -> None:
    """From the provider's dashboard ("resend"), once the price is in the catalogue."""
    event = stripe_event(
        "customer.subscription.created", stripe_subscription(org.pk, price="price_new_pro")
    )
    assert answered(post_stripe(client, event)) == "failed"
    settings.BILLING_PRICE_IDS = {**PRICES, "STRIPE_PRICE_PRO_MONTHLY": "price_new_pro"}
    assert answered(post_stripe(client, event)) == "processed"
    assert WebhookEvent.objects.get().attempts == 2


def test_staff_who_may_only_look_cannot_reprocess(client: Client, org: Any) -> None:
    post_stripe(
        client,
        stripe_event("customer.subscription.created", stripe_subscription(org.pk, price="price_x")),
    )
    stored = failed_event()
    viewer = make_verified_user("viewer@example.com")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(viewer, generate_totp_secret())
    looking = Client()
    looking.force_login(viewer)
    listing = looking.get("/admin/billing/webhookevent/")
    assert listing.status_code == 200
    assert "reprocess" not in listing.content.decode()
    looking.post(
        "/admin/billing/webhookevent/", {"action": "reprocess", "_selected_action": [stored.pk]}
    )
    assert run_tasks() == 0
    stored.refresh_from_db()
    assert stored.attempts == 1
    assert not LogEntry.objects.exists()


def test_an_invoice_before_its_subscription_with_an_unknown_price_is_stored_failed(
    client: Client, org: Any
) -> None:
    invoice = stripe_invoice_paid(org.pk, subscription="sub_new", period_end=4_000_000_000,
                                  price="price_retired")  # fmt: skip
    assert answered(post_stripe(client, stripe_event("invoice.paid", invoice))) == "failed"
    assert "names no price in the catalogue" in failed_event().error
    assert_not_applied(org.pk)


def test_a_polar_time_without_a_zone_in_the_data_is_stored_failed(client: Client, org: Any) -> None:
    data = {"id": "polar_sub_1", "status": "active", "product_id": "prod_pro_monthly",
            "current_period_end": "2099-01-01T00:00:00", "metadata": {"organization_id": org.pk}}  # fmt: skip
    assert answered(post_polar(client, polar_event("subscription.active", data))) == "failed"
    assert "'2099-01-01T00:00:00' is not ISO 8601 with a time zone" in failed_event().error
    assert_not_applied(org.pk)
