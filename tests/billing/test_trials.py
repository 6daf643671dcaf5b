"""Trials from the plan picker: the local provider's trial starts without payment and
ends at its trial end (to free, or on to the plan if kept); Stripe and Polar are asked
for their own trial at checkout; one trial per organization; owners only."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from pytest_httpserver import HTTPServer

from billing.entitlements import entitlements
from billing.models import PlanSubscription
from billing.plans import FREE, PLANS
from billing.tasks import trials
from kernel.models import Notification
from kernel.notifications import notification_text
from kernel.permissions import Role
from tests.billing.test_provider_calls import form
from tests.conftest import client_for
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
TEAM = PLANS["team_monthly"]


@pytest.fixture
def local(providers: Any) -> Any:
    providers.BILLING_PROVIDER = "local"
    return providers


def start_trial(browser: Any, plan: str = "team_monthly") -> Any:
    return browser.post("/billing/trial/", {"plan": plan}, follow=True)


def trial_of(org: Any) -> PlanSubscription:
    return PlanSubscription.objects.for_organization(org.pk).get()


def run_trials_at(moment: Any) -> None:
    """The periodic task, as the worker runs it, with the clock at `moment`."""
    with time_machine.travel(moment, tick=False):
        trials.enqueue()
        run_tasks()


def test_a_local_trial_starts_without_payment_and_ends_on_the_free_plan(
    local: Any, member: Any, org: Any
) -> None:
    owner_membership = member(Role.OWNER)
    owner = client_for(owner_membership)
    plans_page = owner.get("/billing/plans/").content.decode()
    assert "Start a 14-day free trial" in plans_page
    response = start_trial(owner)
    assert "The free trial has started" in response.content.decode()
    subscription = trial_of(org)
    assert subscription.trial_end is not None
    assert (subscription.status, subscription.provider) == ("trialing", "local")
    assert subscription.cancel_at_period_end  # no payment: it ends with the trial
    assert subscription.trial_end - timezone.now() > timedelta(days=13, hours=23)
    assert subscription.current_period_end == subscription.trial_end
    assert entitlements(org.pk).plan == TEAM
    page = owner.get("/billing/").content.decode()
    assert "trial ends" in page
    assert "Keep Team after the trial" in page
    assert "Start a 14-day free trial" not in owner.get("/billing/plans/").content.decode()

    run_trials_at(subscription.trial_end - timedelta(minutes=1))
    assert trial_of(org).status == "trialing"  # not yet
    run_trials_at(subscription.trial_end + timedelta(minutes=1))
    ended = trial_of(org)
    assert (ended.status, ended.ended_at) == ("canceled", subscription.trial_end)
    with time_machine.travel(subscription.trial_end + timedelta(minutes=2)):
        assert entitlements(org.pk).plan == FREE
        owner = client_for(owner_membership)  # signed in again: two weeks have passed
        assert "Start a 14-day free trial" not in owner.get("/billing/plans/").content.decode()
        again = start_trial(owner, "pro_monthly")
        assert "had its free trial already" in again.content.decode()
    assert PlanSubscription.objects.for_organization(org.pk).count() == 1


def test_a_kept_local_trial_goes_on_to_the_paid_plan_without_a_gap(
    local: Any, member: Any, org: Any
) -> None:
    owner = client_for(member(Role.OWNER))
    start_trial(owner)
    trial_end = trial_of(org).trial_end
    assert trial_end is not None
    owner.post("/billing/resume/")  # "Keep Team after the trial" (a test payment)
    kept = trial_of(org)
    assert not kept.cancel_at_period_end
    assert kept.current_period_end == trial_end + timedelta(days=30)
    with time_machine.travel(trial_end + timedelta(minutes=5)):  # before the task runs
        assert entitlements(org.pk).plan == TEAM
    run_trials_at(trial_end + timedelta(minutes=10))
    paid = trial_of(org)
    assert (paid.status, paid.current_period_end) == ("active", trial_end + timedelta(days=30))
    with time_machine.travel(trial_end + timedelta(days=29)):
        assert entitlements(org.pk).plan == TEAM


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_only_a_billing_manager_starts_a_trial(local: Any, member: Any, org: Any, role: Role):
    member(Role.OWNER)
    browser = client_for(member(role))
    assert browser.post("/billing/trial/", {"plan": "team_monthly"}).status_code == 403
    assert not PlanSubscription.objects.for_organization(org.pk).exists()
    if role == Role.ADMIN:  # may read billing: sees plans, offered nothing to start
        assert "free trial</button>" not in browser.get("/billing/plans/").content.decode()


def test_one_organizations_trial_is_not_anothers(
    local: Any, member: Any, org: Any, other_org: Any
) -> None:
    start_trial(client_for(member(Role.OWNER, organization=other_org)))
    assert trial_of(other_org).status == "trialing"
    owner = client_for(member(Role.OWNER))
    assert "Start a 14-day free trial" in owner.get("/billing/plans/").content.decode()
    start_trial(owner, "pro_monthly")
    assert trial_of(org).plan == "pro_monthly"
    assert trial_of(other_org).plan == "team_monthly"


def test_a_plan_without_a_trial_cannot_start_one(local: Any, member: Any, org: Any) -> None:
    owner = client_for(member(Role.OWNER))
    assert "has no free trial" in start_trial(owner, "pro_yearly").content.decode()
    assert not PlanSubscription.objects.for_organization(org.pk).exists()


def test_stripe_checkout_asks_for_its_trial(httpserver: HTTPServer, providers: Any, member, org):
    providers.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "stripe"
    httpserver.expect_request("/v1/customers", method="POST").respond_with_json(
        {"id": "cus_new", "object": "customer"}
    )
    httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_1", "object": "checkout.session", "url": "https://checkout.example/cs_1"}
    )
    owner = client_for(member(Role.OWNER))
    response = owner.post("/billing/trial/", {"plan": "team_monthly"})
    assert response["Location"] == "https://checkout.example/cs_1"
    session = form(httpserver.log[-1][0])
    assert session["subscription_data[trial_period_days]"] == "14"
    assert session["success_url"].endswith("/billing/?trial=started")
    plain = owner.post("/billing/checkout/", {"plan": "team_monthly"})
    assert plain.status_code == 302
    assert "subscription_data[trial_period_days]" not in form(httpserver.log[-1][0])


def test_polar_checkout_asks_for_its_trial(httpserver: HTTPServer, providers: Any, member, org):
    providers.POLAR_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "polar"
    httpserver.expect_request("/v1/checkouts/", method="POST").respond_with_json(
        {"id": "co_1", "url": "https://polar.example/checkout/co_1"}
    )
    client_for(member(Role.OWNER)).post("/billing/trial/", {"plan": "pro_monthly"})
    body = json.loads(httpserver.log[-1][0].get_data())
    assert (body["trial_interval"], body["trial_interval_count"]) == ("day", 14)


def test_the_billing_managers_hear_once_that_the_trial_ends_in_3_days(
    local: Any, member: Any, org: Any, other_org: Any
) -> None:
    owner = member(Role.OWNER)
    admin = member(Role.ADMIN)  # reads billing, does not manage it: told nothing
    stranger = member(Role.OWNER, organization=other_org)
    start_trial(client_for(owner))
    trial_end = trial_of(org).trial_end
    assert trial_end is not None
    mail.outbox.clear()

    run_trials_at(trial_end - timedelta(days=4))  # not yet
    assert not Notification.objects.filter(kind="billing.trial_ending").exists()
    run_trials_at(trial_end - timedelta(days=3) + timedelta(minutes=1))
    run_trials_at(trial_end - timedelta(days=1))  # the next runs tell nobody again
    (notice,) = Notification.objects.filter(kind="billing.trial_ending")
    assert (notice.user_id, notice.organization_id) == (owner.user_id, org.pk)
    assert notice.link == "/billing/"
    assert notification_text(notice) == (
        f"The Team trial of {org.name} ends on {trial_end.date().isoformat()}. Keep the plan "
        "from the billing page, or the organization returns to the free plan."
    )
    emails = [m for m in mail.outbox if "Team trial" in str(m.body)]
    assert [m.to for m in emails] == [[owner.user.email]]
    assert not Notification.objects.filter(user_id__in=[admin.user_id, stranger.user_id]).exists()
