"""Reconciliation (billing/reconcile.py) against fakes of Stripe's and Polar's APIs that
keep state: what a call changed, the next read returns."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from billing.grants import sync_subscription_grants
from billing.models import Grant, PendingCancellation, PlanSubscription, SubscriptionStatus
from billing.reconcile import reconcile
from billing.schemas import ReconcileReport
from kernel.actor import SYSTEM
from kernel.door import call
from kernel.permissions import Role
from organizations.models import Organization
from tests.accounts.helpers import operator_client
from tests.billing.conftest import DAY, stripe_subscription
from tests.conftest import client_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.tasks import run_tasks

PERIOD_END = int(time.time()) + 30 * DAY
SUBSCRIPTION = re.compile(r"^/v1/subscriptions/[^/]+$")


def error(status: int, message: str) -> Response:
    body = {"error": {"type": "api_error", "message": message}}
    return Response(json.dumps(body), status, content_type="application/json")


class FakeStripe:
    """Subscriptions by id: retrieve (GET), update (POST: quantity), cancel (DELETE)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.cancels_fail = False
        self.cancel_answers_lost = False
        server.expect_request(SUBSCRIPTION).respond_with_handler(self.handle)

    def add(self, organization_id: int, **fields: Any) -> dict[str, Any]:
        subscription = stripe_subscription(organization_id, period_end=PERIOD_END, **fields)
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def handle(self, request: Request) -> Response:
        subscription = self.subscriptions.get(request.path.rsplit("/", 1)[1])
        if subscription is None:
            return error(404, "No such subscription")
        if request.method == "POST":
            sent = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
            if "items[0][quantity]" in sent:
                subscription["items"]["data"][0]["quantity"] = int(sent["items[0][quantity]"])
        if request.method == "DELETE":
            if self.cancels_fail:
                return error(500, "Stripe is having a bad day")
            subscription["status"], subscription["ended_at"] = "canceled", int(time.time())
            if self.cancel_answers_lost:
                return error(500, "the answer was lost")
        return Response(json.dumps(subscription), 200, content_type="application/json")

    def calls(self) -> list[tuple[str, str]]:
        made = [(request.method, request.path) for request, _ in self.server.log]
        self.server.log.clear()
        return made


class FakePolar:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.subscriptions: dict[str, dict[str, Any]] = {}
        server.expect_request(SUBSCRIPTION).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        subscription = self.subscriptions.get(request.path.rsplit("/", 1)[1])
        if subscription is None:
            return error(404, "Not found")
        if request.method == "PATCH":
            subscription.update(
                {k: v for k, v in json.loads(request.get_data()).items() if k == "seats"}
            )
        return Response(json.dumps(subscription), 200, content_type="application/json")


@pytest.fixture
def stripe(httpserver: HTTPServer, providers: Any) -> FakeStripe:
    providers.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "stripe"
    return FakeStripe(httpserver)


@pytest.fixture
def polar(httpserver: HTTPServer, providers: Any) -> FakePolar:
    providers.POLAR_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "polar"
    return FakePolar(httpserver)


def ours(organization: Organization, **fields: Any) -> PlanSubscription:
    """Our copy, as the webhooks left it."""
    values: dict[str, Any] = {
        "provider": "stripe",
        "external_id": "sub_123",
        "plan": "pro_monthly",
        "status": SubscriptionStatus.ACTIVE,
        "seats": 1,
        "item_id": "si_1",
        "current_period_end": datetime.fromtimestamp(PERIOD_END, UTC),
        "state_as_of": datetime.fromtimestamp(time.time() - 60, UTC),
    } | fields
    subscription = PlanSubscription.objects.create(organization=organization, **values)
    sync_subscription_grants(subscription)
    return subscription


def reconciled() -> ReconcileReport:
    report: ReconcileReport = call(reconcile, SYSTEM)
    return report


def live_capabilities(organization: Organization) -> set[str]:
    grants = Grant.objects.for_organization(organization.pk).filter(Grant.active(datetime.now(UTC)))
    return set(grants.values_list("capability", flat=True))


# --- drift -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_drifted_seat_count_is_pushed_and_a_second_run_changes_nothing(stripe):
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)  # its seat push failed, say
    stripe.add(org.pk, price="price_team_monthly", quantity=1)
    subscription = ours(org, plan="team_monthly", seats=1)

    report = reconciled()

    assert report.seats_pushed == ["stripe:subscription:sub_123: 1 → 2"]
    assert stripe.calls() == [
        ("GET", "/v1/subscriptions/sub_123"),
        ("POST", "/v1/subscriptions/sub_123"),
    ]
    assert stripe.subscriptions["sub_123"]["items"]["data"][0]["quantity"] == 2
    subscription.refresh_from_db()
    assert subscription.seats == 2
    assert report.repaired == ["stripe:subscription:sub_123: seats"]

    again = reconciled()

    assert (again.checked, again.seats_pushed, again.repaired, again.failed) == (1, [], [], [])
    assert stripe.calls() == [("GET", "/v1/subscriptions/sub_123")]  # a read, nothing written
    assert PlanSubscription.objects.unscoped().get().updated_at == subscription_updated(
        subscription
    )


def subscription_updated(subscription: PlanSubscription) -> datetime:
    subscription.refresh_from_db()
    return subscription.updated_at


@pytest.mark.django_db
def test_a_missed_cancellation_is_applied_and_the_plan_ends(stripe):
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    stripe.add(org.pk, status="canceled", ended_at=int(time.time()) - 3600)
    ours(org)
    assert "feature.pro" in live_capabilities(org)

    report = reconciled()

    assert report.repaired == ["stripe:subscription:sub_123: status, ended_at"]
    subscription = PlanSubscription.objects.unscoped().get()
    assert (subscription.status, subscription.ended_at is not None) == ("canceled", True)
    assert "feature.pro" not in live_capabilities(org)
    stripe.calls()
    # Ended now: nothing left to compare, no call.
    assert reconciled().checked == 0
    assert stripe.calls() == []


@pytest.mark.django_db
def test_seats_on_a_plan_not_per_seat_follow_the_provider(stripe):
    org = OrganizationFactory()
    for role in (Role.OWNER, Role.MEMBER, Role.MEMBER):
        MembershipFactory(organization=org, role=role)
    stripe.add(org.pk, quantity=1)  # pro: one seat whatever the membership
    ours(org, seats=4)
    report = reconciled()
    assert (report.seats_pushed, report.repaired) == ([], ["stripe:subscription:sub_123: seats"])
    assert PlanSubscription.objects.unscoped().get().seats == 1
    assert [method for method, _ in stripe.calls()] == ["GET"]


@pytest.mark.django_db
def test_no_call_for_organizations_without_a_subscription_that_has_not_ended(stripe):
    MembershipFactory(organization=OrganizationFactory(), role=Role.OWNER)  # free
    ended = OrganizationFactory()
    ours(ended, status=SubscriptionStatus.CANCELED, external_id="sub_old")
    report = reconciled()
    assert (report.checked, report.repaired, report.failed) == (0, [], [])
    assert stripe.calls() == []


@pytest.mark.django_db
def test_one_provider_failing_is_reported_and_the_others_are_reconciled(stripe):
    gone, drifted = OrganizationFactory(), OrganizationFactory()
    ours(gone, external_id="sub_unknown")  # the fake says 404
    stripe.add(drifted.pk, id="sub_456", cancel_at_period_end=True)
    ours(drifted, external_id="sub_456")
    report = reconciled()
    assert report.checked == 2
    assert report.repaired == ["stripe:subscription:sub_456: cancel_at_period_end"]
    (failure,) = report.failed
    assert failure.startswith("stripe:subscription:sub_unknown: ")
    assert PlanSubscription.objects.unscoped().get(external_id="sub_456").cancel_at_period_end


@pytest.mark.django_db
def test_polar_seats_are_pushed_and_reconciled_once(polar):
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    polar.subscriptions["polar_sub_9"] = {
        "id": "polar_sub_9", "status": "active", "product_id": "prod_team_monthly",
        "customer_id": "polar_cus_9", "current_period_end": "2099-01-01T00:00:00Z",
        "cancel_at_period_end": False, "seats": 1, "metadata": {"organization_id": org.pk},
    }  # fmt: skip
    ours(
        org,
        provider="polar",
        external_id="polar_sub_9",
        plan="team_monthly",
        item_id="",
        current_period_end=datetime(2099, 1, 1, tzinfo=UTC),
    )
    report = reconciled()
    assert report.seats_pushed == ["polar:subscription:polar_sub_9: 1 → 2"]
    bodies = [
        (request.method, json.loads(request.get_data() or b"null"))
        for request, _ in polar.server.log
    ]
    assert bodies == [("GET", None), ("PATCH", {"seats": 2, "proration_behavior": "prorate"})]
    assert PlanSubscription.objects.unscoped().get().seats == 2
    polar.server.log.clear()
    again = reconciled()
    assert (again.seats_pushed, again.repaired) == ([], [])
    assert [request.method for request, _ in polar.server.log] == ["GET"]


# --- a deleted organization's cancellation ----------------------------------------------------


def deletable(stripe: FakeStripe) -> Organization:
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    stripe.add(org.pk)
    ours(org)
    run_tasks()  # the membership's seat push (none: pro is not per seat)
    return org


def cancel_task() -> DBTaskResult:
    return DBTaskResult.objects.get(task_path="billing.tasks.cancel_subscriptions")


@pytest.mark.django_db(transaction=True)
def test_a_failed_cancel_is_kept_retried_and_forgotten_once_the_provider_confirms(stripe):
    org = deletable(stripe)
    org_id = org.pk
    stripe.cancels_fail = True

    org.delete()  # committed: the cancellation owed, and its task, are rows now

    pending = PendingCancellation.objects.get()
    assert (pending.provider, pending.external_id, pending.organization_id) == (
        "stripe",
        "sub_123",
        org_id,
    )
    assert cancel_task().status == TaskResultStatus.READY
    assert stripe.calls() == []

    run_tasks()  # the provider fails: the task is put back for later
    pending.refresh_from_db()
    assert pending.attempts == 1
    assert "bad day" in pending.last_error
    task = cancel_task()
    assert (task.status, task.run_after > timezone.now()) == (TaskResultStatus.READY, True)
    assert stripe.subscriptions["sub_123"]["status"] == "active"  # still billing
    assert ("DELETE", "/v1/subscriptions/sub_123") in stripe.calls()

    report = reconciled()  # reconciliation tries too, the provider still down
    assert (report.cancellations_confirmed, report.cancellations_pending) == (0, 1)
    assert PendingCancellation.objects.get().attempts == 2

    stripe.cancels_fail = False
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now())  # its turn
    assert run_tasks() == 1  # the retry
    assert cancel_task().status == TaskResultStatus.SUCCESSFUL
    assert stripe.subscriptions["sub_123"]["status"] == "canceled"
    assert not PendingCancellation.objects.exists()
    stripe.calls()
    assert reconciled() == ReconcileReport()
    assert stripe.calls() == []  # nothing left to cancel or compare


@pytest.mark.django_db
def test_reconciliation_cancels_what_is_still_pending(stripe):
    """A cancellation whose task gave up: the next reconciliation does it."""
    stripe.add(0, id="sub_orphan")
    PendingCancellation.objects.create(
        provider="stripe", external_id="sub_orphan", organization_id=0
    )
    report = reconciled()
    assert (report.checked, report.cancellations_confirmed) == (0, 1)
    assert stripe.calls() == [("DELETE", "/v1/subscriptions/sub_orphan")]
    assert stripe.subscriptions["sub_orphan"]["status"] == "canceled"
    assert not PendingCancellation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancel_whose_answer_was_lost_is_confirmed_by_reading_the_subscription(stripe):
    org = deletable(stripe)
    stripe.cancel_answers_lost = True
    org.delete()
    run_tasks()
    assert stripe.subscriptions["sub_123"]["status"] == "canceled"
    assert not PendingCancellation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_deletion_rolled_back_owes_no_cancellation(stripe):
    org = deletable(stripe)

    def delete_then_fail() -> None:
        with transaction.atomic():
            Organization.objects.get(pk=org.pk).delete()
            assert PendingCancellation.objects.count() == 1  # in the deleting transaction
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert not PendingCancellation.objects.exists()
    assert not DBTaskResult.objects.filter(task_path="billing.tasks.cancel_subscriptions").exists()
    assert stripe.calls() == []
    assert PlanSubscription.objects.for_organization(org.pk).get().status == "active"


# --- the command -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_reports_and_fails_while_anything_is_left(stripe, capsys):
    org = OrganizationFactory()
    stripe.add(org.pk, cancel_at_period_end=True)
    ours(org)
    PendingCancellation.objects.create(provider="stripe", external_id="sub_gone", organization_id=0)
    with pytest.raises(CommandError):
        call_command("billing_reconcile")
    out = capsys.readouterr()
    assert "Checked 1 subscription(s)." in out.out
    assert "Repaired stripe:subscription:sub_123: cancel_at_period_end" in out.out
    assert "0 confirmed, 1 still pending" in out.out
    PendingCancellation.objects.all().delete()
    call_command("billing_reconcile")  # all in agreement: success
    assert "Checked 1 subscription(s)." in capsys.readouterr().out


# --- the admin -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_operators_see_pending_cancellations_and_nobody_else_does(member):
    PendingCancellation.objects.create(
        provider="stripe",
        external_id="sub_still_billing",
        organization_id=41,
        attempts=3,
        last_error="APIConnectionError: unreachable",
    )
    listing = "/admin/billing/pendingcancellation/"
    page = operator_client().get(listing)
    assert page.status_code == 200
    assert "sub_still_billing" in page.content.decode()
    owner = client_for(member(Role.OWNER))  # an organization's owner is no operator
    refused = owner.get(listing)
    assert refused.status_code == 302
    assert "sub_still_billing" not in owner.get(listing, follow=True).content.decode()
