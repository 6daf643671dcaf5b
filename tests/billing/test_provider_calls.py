"""Our adapters against a local fake of each provider's API (the SDKs pointed at it):
the requests they send are asserted; nothing reaches the internet."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import time_machine
from django.tasks import TaskResultStatus
from django.test import Client
from django_tasks_db.models import DBTaskResult
from pytest_httpserver import HTTPServer
from werkzeug import Request

from billing.models import BillingCustomer, PlanSubscription
from kernel.door import call
from kernel.permissions import Role
from organizations import mutations as org_mutations
from organizations.models import Membership
from tests.billing.conftest import post_stripe, stripe_event, stripe_subscription
from tests.conftest import actor_for, client_for
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def form(request: Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}


@pytest.fixture
def stripe_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "stripe"
    return httpserver


@pytest.fixture
def polar_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.POLAR_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "polar"
    return httpserver


def test_stripe_checkout_creates_the_customer_then_a_subscription_session(stripe_api, member, org):
    owner = member(Role.OWNER)
    stripe_api.expect_ordered_request("/v1/customers", method="POST").respond_with_json(
        {"id": "cus_new", "object": "customer"}
    )
    stripe_api.expect_ordered_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_1", "object": "checkout.session", "url": "https://checkout.example/cs_1"}
    )
    response = client_for(owner).post("/billing/checkout/", {"plan": "pro_yearly"})
    assert (response.status_code, response["Location"]) == (302, "https://checkout.example/cs_1")
    customer_call, session_call = (request for request, _ in stripe_api.log)
    assert customer_call.headers["Authorization"] == "Bearer sk_test_key"
    assert form(customer_call)["metadata[organization_id]"] == str(org.pk)
    session = form(session_call)
    assert session["mode"] == "subscription"
    assert session["customer"] == "cus_new"
    assert session["line_items[0][price]"] == "price_pro_yearly"
    assert session["line_items[0][quantity]"] == "1"
    assert session["subscription_data[metadata][organization_id]"] == str(org.pk)
    assert session["client_reference_id"] == str(org.pk)
    assert BillingCustomer.objects.for_organization(org.pk).get().external_id == "cus_new"


def test_stripe_lifetime_checkout_is_a_one_time_payment(stripe_api, member, org):
    owner = member(Role.OWNER)
    BillingCustomer.objects.create(organization=org, provider="stripe", external_id="cus_known")
    stripe_api.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_2", "object": "checkout.session", "url": "https://checkout.example/cs_2"}
    )
    client_for(owner).post("/billing/checkout/", {"plan": "pro_lifetime"})
    ((request, _),) = stripe_api.log
    session = form(request)
    assert (session["mode"], session["customer"]) == ("payment", "cus_known")
    assert session["payment_intent_data[metadata][plan]"] == "pro_lifetime"


def test_stripe_portal_cancel_and_resume(stripe_api, member, org, client):
    owner = member(Role.OWNER)
    post_stripe(client, stripe_event("customer.subscription.created", stripe_subscription(org.pk)))
    stripe_api.expect_request("/v1/billing_portal/sessions", method="POST").respond_with_json(
        {"id": "bps_1", "object": "billing_portal.session", "url": "https://portal.example/1"}
    )
    stripe_api.expect_request("/v1/subscriptions/sub_123", method="POST").respond_with_json(
        {"id": "sub_123", "object": "subscription"}
    )
    stripe_api.expect_request("/v1/subscriptions/sub_123", method="DELETE").respond_with_json(
        {"id": "sub_123", "object": "subscription"}
    )
    browser = client_for(owner)
    assert browser.post("/billing/portal/")["Location"] == "https://portal.example/1"
    browser.post("/billing/cancel/", {"when": "period_end"})
    PlanSubscription.objects.for_organization(org.pk).update(cancel_at_period_end=True)
    browser.post("/billing/resume/")
    browser.post("/billing/change/", {"plan": "team_monthly", "confirmed": "yes"})
    browser.post("/billing/cancel/", {"when": "now", "confirmed": "yes"})
    calls = [(r.method, r.path, form(r)) for r, _ in stripe_api.log]
    assert calls[0][2]["customer"] == f"cus_{org.pk}"
    assert calls[1:] == [
        ("POST", "/v1/subscriptions/sub_123", {"cancel_at_period_end": "true"}),
        ("POST", "/v1/subscriptions/sub_123", {"cancel_at_period_end": "false"}),
        (
            "POST",
            "/v1/subscriptions/sub_123",
            {
                "items[0][id]": "si_1",
                "items[0][price]": "price_team_monthly",
                "proration_behavior": "always_invoice",  # the previewed difference, now
            },
        ),
        ("DELETE", "/v1/subscriptions/sub_123", {}),
    ]


@pytest.mark.django_db(transaction=True)
def test_seats_follow_membership_at_once_on_per_seat_plans(stripe_api, member, org):
    owner = member(Role.OWNER)
    run_tasks()
    post_stripe(
        Client(),
        stripe_event(
            "customer.subscription.created",
            stripe_subscription(org.pk, price="price_team_monthly", quantity=1),
        ),
    )
    stripe_api.expect_request("/v1/subscriptions/sub_123", method="POST").respond_with_json(
        {"id": "sub_123", "object": "subscription"}
    )
    joiner = member(Role.MEMBER)  # committed, with the task that pushes the seat count
    assert stripe_api.log == []
    assert run_tasks() == 1
    ((request, _),) = stripe_api.log
    assert form(request) == {
        "items[0][id]": "si_1",
        "items[0][quantity]": "2",
        "proration_behavior": "create_prorations",
    }
    # Stripe confirms by webhook (quantity 2); a member leaves: 1 seat is pushed at once.
    post_stripe(
        Client(),
        stripe_event(
            "customer.subscription.updated",
            stripe_subscription(org.pk, price="price_team_monthly", quantity=2),
        ),
    )
    call(org_mutations.member_remove, actor_for(owner), {"membership_id": joiner.pk})
    run_tasks()
    assert len(stripe_api.log) == 2
    assert form(stripe_api.log[-1][0])["items[0][quantity]"] == "1"


@pytest.mark.django_db(transaction=True)
def test_a_seat_count_the_provider_refused_is_pushed_again_later(stripe_api, member, org):
    member(Role.OWNER)
    post_stripe(
        Client(),
        stripe_event(
            "customer.subscription.created",
            stripe_subscription(org.pk, price="price_team_monthly", quantity=1),
        ),
    )
    run_tasks()
    stripe_api.expect_oneshot_request("/v1/subscriptions/sub_123", method="POST").respond_with_json(
        {"error": {"message": "Stripe is having a moment", "type": "api_error"}}, status=500
    )
    member(Role.MEMBER)
    run_tasks()  # refused: the membership stands, the push waits for its next attempt
    assert Membership.objects.unscoped().filter(organization=org).count() == 2
    [row] = DBTaskResult.objects.filter(task_path="billing.tasks.push_seats").order_by(
        "-enqueued_at"
    )[:1]
    assert row.status == TaskResultStatus.READY
    stripe_api.expect_request("/v1/subscriptions/sub_123", method="POST").respond_with_json(
        {"id": "sub_123", "object": "subscription"}
    )
    with time_machine.travel(row.run_after + timedelta(seconds=1), tick=False):
        assert run_tasks() == 1
    assert form(stripe_api.log[-1][0])["items[0][quantity]"] == "2"
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db(transaction=True)
def test_deleting_the_organization_cancels_its_subscription(stripe_api, member, org):
    member(Role.OWNER)
    post_stripe(
        Client(), stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    )
    stripe_api.expect_request("/v1/subscriptions/sub_123", method="DELETE").respond_with_json(
        {"id": "sub_123", "object": "subscription"}
    )
    org.delete()  # as the admin does; the organization mutation deletes the same way
    run_tasks()
    ((request, _),) = stripe_api.log
    assert (request.method, request.path) == ("DELETE", "/v1/subscriptions/sub_123")


def test_polar_checkout_and_portal(polar_api, member, org, client):
    owner = member(Role.OWNER)
    polar_api.expect_request("/v1/checkouts/", method="POST").respond_with_json(
        {"id": "co_1", "url": "https://polar.example/checkout/co_1"}
    )
    response = client_for(owner).post("/billing/checkout/", {"plan": "team_monthly"})
    assert response["Location"] == "https://polar.example/checkout/co_1"
    ((request, _),) = polar_api.log
    assert request.headers["Authorization"] == "Bearer polar_oat_test"
    body = json.loads(request.get_data())
    assert body["products"] == ["prod_team_monthly"]
    assert body["external_customer_id"] == str(org.pk)
    assert body["seats"] == 1
    assert body["metadata"] == {"organization_id": org.pk, "plan": "team_monthly"}


def test_a_provider_failure_is_a_message_not_a_crash(stripe_api, member):
    owner = member(Role.OWNER)
    stripe_api.expect_request("/v1/customers", method="POST").respond_with_json(
        {"error": {"message": "boom", "type": "api_error"}}, status=500
    )
    response = client_for(owner).post("/billing/checkout/", {"plan": "pro_monthly"}, follow=True)
    assert "could not be reached" in response.content.decode()


def test_polar_portal_plan_change_seats_and_cancel(polar_api, member, org, client):
    from tests.billing.conftest import polar_event, post_polar

    owner = member(Role.OWNER)
    subscription = {
        "id": "polar_sub_9", "status": "active", "product_id": "prod_team_monthly",
        "customer_id": "polar_cus_9", "current_period_end": "2099-01-01T00:00:00Z",
        "cancel_at_period_end": False, "seats": 1, "metadata": {"organization_id": org.pk},
    }  # fmt: skip
    assert post_polar(client, polar_event("subscription.active", subscription)).status_code == 200
    polar_api.expect_request("/v1/customer-sessions/", method="POST").respond_with_json(
        {"id": "cs_9", "customer_portal_url": "https://polar.example/portal/9"}
    )
    polar_api.expect_request("/v1/subscriptions/polar_sub_9", method="PATCH").respond_with_json(
        {"id": "polar_sub_9"}
    )
    browser = client_for(owner)
    assert browser.post("/billing/portal/")["Location"] == "https://polar.example/portal/9"
    browser.post("/billing/change/", {"plan": "pro_monthly", "confirmed": "yes"})
    browser.post("/billing/cancel/", {"when": "period_end"})
    browser.post("/billing/cancel/", {"when": "now", "confirmed": "yes"})
    from billing.actions import sync_seats
    from kernel.actor import SYSTEM

    member(Role.MEMBER)
    call(sync_seats, SYSTEM, {"organization_id": org.pk})  # what a membership change triggers
    bodies = [json.loads(request.get_data()) for request, _ in polar_api.log]
    assert bodies == [
        {"customer_id": "polar_cus_9", "return_url": "http://localhost:8000/billing/"},
        {"product_id": "prod_pro_monthly", "proration_behavior": "prorate"},
        {"cancel_at_period_end": True},
        {"revoke": True},
        {"seats": 2, "proration_behavior": "prorate"},
    ]


def test_a_provider_failure_while_cancelling_is_a_message_not_a_crash(
    stripe_api, member, org, client
):
    owner = member(Role.OWNER)
    post_stripe(client, stripe_event("customer.subscription.created", stripe_subscription(org.pk)))
    stripe_api.expect_request("/v1/subscriptions/sub_123", method="DELETE").respond_with_json(
        {"error": {"message": "boom", "type": "api_error"}}, status=500
    )
    response = client_for(owner).post(
        "/billing/cancel/", {"when": "now", "confirmed": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()
