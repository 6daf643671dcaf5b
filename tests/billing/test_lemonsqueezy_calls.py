"""Our Lemon Squeezy adapter against a local fake of its REST API (LEMONSQUEEZY_API_BASE
pointed at it): the requests it sends are asserted; nothing reaches the internet."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from billing.actions import sync_seats
from billing.models import BillingCustomer, PlanSubscription
from billing.reconcile import reconcile
from kernel.actor import SYSTEM
from kernel.door import call
from kernel.permissions import Role
from tests.billing.conftest import DAY
from tests.billing.lemonsqueezy import lsq_event, lsq_subscription, post_lemonsqueezy
from tests.conftest import client_for
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
JSON_API = "application/vnd.api+json"
PRORATED = {"invoice_immediately": False, "disable_prorations": False}


@pytest.fixture
def lsq_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.LEMONSQUEEZY_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "lemonsqueezy"
    return httpserver


def jsonapi(data: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps({"jsonapi": {"version": "1.0"}, "data": data}), status,
                    content_type=JSON_API)  # fmt: skip


def sent(server: HTTPServer) -> list[tuple[str, str, Any]]:
    """(method, path with query, JSON body or None) of every request the fake received."""
    calls = []
    for request, _ in server.log:
        body = json.loads(request.get_data()) if request.get_data() else None
        query = f"?{request.query_string.decode()}" if request.query_string else ""
        calls.append((request.method, request.path + query, body))
    return calls


def subscribed(client: Client, org: Any, **fields: Any) -> None:
    """Lemon Squeezy tells us of a subscription (customer 501, subscription 77)."""
    event = lsq_event("subscription_created", lsq_subscription(**fields), org.pk)
    assert post_lemonsqueezy(client, event).status_code == 200
    assert PlanSubscription.objects.for_organization(org.pk).exists()


def test_checkout_posts_the_variant_store_seats_and_the_organization(lsq_api, member, org):
    owner = member(Role.OWNER)
    member(Role.MEMBER)
    member(Role.ADMIN)
    lsq_api.expect_request("/v1/checkouts", method="POST").respond_with_response(
        jsonapi({"type": "checkouts", "id": "c0ffee",
                 "attributes": {"url": "https://acme.lemonsqueezy.test/checkout/custom/c0ffee"}},
                201)
    )  # fmt: skip
    response = client_for(owner).post("/billing/checkout/", {"plan": "team_monthly"})
    assert (response.status_code, response["Location"]) == (
        302,
        "https://acme.lemonsqueezy.test/checkout/custom/c0ffee",
    )
    ((request, _),) = lsq_api.log
    assert request.headers["Authorization"] == "Bearer lsq_test_api_key"
    assert request.headers["Accept"] == request.headers["Content-Type"] == JSON_API
    body = json.loads(request.get_data())["data"]
    assert body["type"] == "checkouts"
    assert body["relationships"] == {
        "store": {"data": {"type": "stores", "id": "4242"}},
        "variant": {"data": {"type": "variants", "id": "1004"}},
    }
    checkout = body["attributes"]["checkout_data"]
    assert checkout["custom"] == {"organization_id": str(org.pk), "plan": "team_monthly"}
    assert checkout["variant_quantities"] == [{"variant_id": 1004, "quantity": 3}]  # 3 members
    assert checkout["email"] == owner.user.email
    options = body["attributes"]["product_options"]
    assert options["redirect_url"] == "http://localhost:8000/billing/?checkout=done"
    assert options["enabled_variants"] == [1004]
    assert body["attributes"]["checkout_options"] == {"skip_trial": True}  # none was started
    assert not BillingCustomer.objects.for_organization(org.pk).exists()  # made at payment


def test_a_flat_plan_checkout_sends_no_quantity(lsq_api, member, org):
    owner = member(Role.OWNER)
    member(Role.MEMBER)
    lsq_api.expect_request("/v1/checkouts", method="POST").respond_with_response(
        jsonapi({"type": "checkouts", "id": "c1", "attributes": {"url": "https://ls.test/c1"}})
    )
    client_for(owner).post("/billing/checkout/", {"plan": "pro_yearly"})
    ((_, _, body),) = sent(lsq_api)
    assert body["data"]["relationships"]["variant"]["data"]["id"] == "1002"
    assert "variant_quantities" not in body["data"]["attributes"]["checkout_data"]


def test_the_checkout_is_for_the_callers_organization_whatever_the_form_says(
    lsq_api, member, org, other_org
):
    """The organization in the custom data (which every event brings back) is the
    actor's; a field naming another is refused, not read."""
    stranger = client_for(member(Role.OWNER, organization=other_org))
    lsq_api.expect_request("/v1/checkouts", method="POST").respond_with_response(
        jsonapi({"type": "checkouts", "id": "c2", "attributes": {"url": "https://ls.test/c2"}})
    )
    forged = stranger.post(
        "/billing/checkout/", {"plan": "pro_monthly", "organization_id": str(org.pk)}, follow=True
    )
    assert "This field is not accepted here." in forged.content.decode()
    assert lsq_api.log == []
    stranger.post("/billing/checkout/", {"plan": "pro_monthly"})
    ((_, _, body),) = sent(lsq_api)
    assert body["data"]["attributes"]["checkout_data"]["custom"]["organization_id"] == str(
        other_org.pk
    )


def test_portal_change_cancel_and_resume(lsq_api, member, org, client):
    owner = member(Role.OWNER)
    subscribed(client, org)
    lsq_api.expect_request("/v1/customers/501", method="GET").respond_with_response(
        jsonapi({"type": "customers", "id": "501", "attributes": {
            "urls": {"customer_portal": "https://acme.lemonsqueezy.test/billing?sig=1"}}})
    )  # fmt: skip
    lsq_api.expect_request("/v1/subscriptions/77", method="PATCH").respond_with_response(
        jsonapi(lsq_subscription())
    )
    lsq_api.expect_request("/v1/subscriptions/77", method="DELETE").respond_with_response(
        jsonapi(lsq_subscription(status="cancelled"))
    )
    browser = client_for(owner)
    assert browser.post("/billing/portal/")["Location"] == (
        "https://acme.lemonsqueezy.test/billing?sig=1"
    )
    browser.post("/billing/change/", {"plan": "pro_yearly", "confirmed": "yes"})
    browser.post("/billing/cancel/", {"when": "period_end"})
    refused = browser.post("/billing/cancel/", {"when": "now", "confirmed": "yes"}, follow=True)
    assert "ends a subscription at the end of its period only" in refused.content.decode()
    ends = time.time() + 20 * DAY
    cancelled = lsq_subscription(status="cancelled", ends_at=ends, updated_at=time.time() + 1)
    post_lemonsqueezy(client, lsq_event("subscription_cancelled", cancelled, org.pk))
    browser.post("/billing/resume/")
    assert sent(lsq_api) == [
        ("GET", "/v1/customers/501", None),
        ("PATCH", "/v1/subscriptions/77",
         {"data": {"type": "subscriptions", "id": "77",
                   "attributes": {"variant_id": 1002, **PRORATED}}}),
        ("DELETE", "/v1/subscriptions/77", None),
        ("PATCH", "/v1/subscriptions/77",
         {"data": {"type": "subscriptions", "id": "77", "attributes": {"cancelled": False}}}),
    ]  # fmt: skip


def test_the_portal_opens_the_callers_own_customer(lsq_api, member, org, other_org, client):
    mine = member(Role.OWNER, organization=other_org)
    subscribed(client, org)  # customer 501 is org's
    theirs = lsq_event(
        "subscription_created", lsq_subscription(id="78", customer=601), other_org.pk
    )
    post_lemonsqueezy(client, theirs)
    lsq_api.expect_request("/v1/customers/601", method="GET").respond_with_response(
        jsonapi({"type": "customers", "id": "601",
                 "attributes": {"urls": {"customer_portal": "https://ls.test/portal/601"}}})
    )  # fmt: skip
    assert client_for(mine).post("/billing/portal/")["Location"] == "https://ls.test/portal/601"
    assert [path for _, path, _ in sent(lsq_api)] == ["/v1/customers/601"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_only_billing_manage_reaches_lemonsqueezy(lsq_api, member, org, client, role):
    subscribed(client, org, status="cancelled", ends_at=time.time() + 9 * DAY)
    browser = client_for(member(role))
    for path, data in [
        ("/billing/checkout/", {"plan": "pro_monthly"}),
        ("/billing/portal/", {}),
        ("/billing/change/", {"plan": "pro_yearly", "confirmed": "yes"}),
        ("/billing/cancel/", {"when": "period_end"}),
        ("/billing/resume/", {}),
    ]:
        assert browser.post(path, data).status_code == 403, path
    assert lsq_api.log == []


def test_seats_are_the_subscription_items_quantity(lsq_api, member, org, client):
    member(Role.OWNER)
    subscribed(client, org, plan="team_monthly", quantity=1)
    lsq_api.expect_request("/v1/subscription-items/8877", method="PATCH").respond_with_response(
        jsonapi({"type": "subscription-items", "id": "8877", "attributes": {"quantity": 2}})
    )
    member(Role.MEMBER)
    call(sync_seats, SYSTEM, {"organization_id": org.pk})  # what a membership change triggers
    assert sent(lsq_api) == [
        ("PATCH", "/v1/subscription-items/8877",
         {"data": {"type": "subscription-items", "id": "8877",
                   "attributes": {"quantity": 2, **PRORATED}}}),
    ]  # fmt: skip


def test_a_lemonsqueezy_failure_is_a_message_not_a_crash(lsq_api, member):
    owner = member(Role.OWNER)
    lsq_api.expect_request("/v1/checkouts", method="POST").respond_with_json(
        {"errors": [{"status": "422", "detail": "The variant is not published."}]}, status=422
    )
    response = client_for(owner).post("/billing/checkout/", {"plan": "pro_monthly"}, follow=True)
    assert "could not be reached" in response.content.decode()


def test_the_billing_page_names_lemonsqueezy_and_offers_no_cancel_now(lsq_api, member, org, client):
    owner = member(Role.OWNER)
    subscribed(client, org)
    page = client_for(owner).get("/billing/").content.decode()
    assert "via Lemon Squeezy" in page
    assert "Cancel at period end" in page
    assert 'value="now"' not in page


# --- reconciliation and deletion -------------------------------------------------------------


class FakeLemonSqueezy:
    """Subscription 77 as Lemon Squeezy has it: GET reads it, PATCH of its item sets the
    quantity, DELETE cancels it (to the period's end)."""

    def __init__(self, server: HTTPServer, **fields: Any) -> None:
        self.subscription = lsq_subscription(**fields)
        server.expect_request("/v1/subscriptions/77").respond_with_handler(self.handle)
        server.expect_request("/v1/subscription-items/8877").respond_with_handler(self.item)

    def handle(self, request: Request) -> Response:
        attributes = self.subscription["attributes"]
        if request.method == "DELETE":
            attributes |= {"status": "cancelled", "cancelled": True,
                           "ends_at": attributes["renews_at"]}  # fmt: skip
        return jsonapi(self.subscription)

    def item(self, request: Request) -> Response:
        quantity = json.loads(request.get_data())["data"]["attributes"]["quantity"]
        self.subscription["attributes"]["first_subscription_item"]["quantity"] = quantity
        return jsonapi({"type": "subscription-items", "id": "8877",
                        "attributes": {"quantity": quantity}})  # fmt: skip


def test_reconciliation_reads_the_subscription_and_repairs_drift(lsq_api, member, org, client):
    member(Role.OWNER)
    member(Role.MEMBER)
    subscribed(client, org, plan="team_monthly", quantity=2)
    # An event lost: Lemon Squeezy has it cancelled, and a seat less (a push that failed).
    ends = time.time() + 12 * DAY
    fake = FakeLemonSqueezy(lsq_api, plan="team_monthly", quantity=1, status="cancelled",
                            ends_at=ends)  # fmt: skip
    report = call(reconcile, SYSTEM)
    assert report.failed == []
    assert len(report.repaired) == 1
    assert report.seats_pushed == ["lemonsqueezy:subscription:77: 1 → 2"]
    assert fake.subscription["attributes"]["first_subscription_item"]["quantity"] == 2
    ours = PlanSubscription.objects.for_organization(org.pk).get()
    assert (ours.status, ours.cancel_at_period_end, ours.seats) == ("active", True, 2)
    lsq_api.log.clear()
    again = call(reconcile, SYSTEM)
    assert (again.repaired, again.seats_pushed) == ([], [])
    assert [(method, path) for method, path, _ in sent(lsq_api)] == [
        ("GET", "/v1/subscriptions/77")
    ]


@pytest.mark.django_db(transaction=True)
def test_deleting_the_organization_cancels_its_subscription(lsq_api, member, org):
    member(Role.OWNER)
    subscribed(Client(), org)
    FakeLemonSqueezy(lsq_api)
    org.delete()  # as the admin does; the organization mutation deletes the same way
    run_tasks()
    assert [(method, path) for method, path, _ in sent(lsq_api)] == [
        ("DELETE", "/v1/subscriptions/77")
    ]
