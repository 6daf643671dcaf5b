"""Billing pages: who may see and act, and the whole loop on the local provider."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing.entitlements import entitlements
from billing.models import PlanSubscription, WebhookEvent
from billing.plans import FREE, PLANS
from kernel.permissions import Role
from tests.conftest import client_for, limits_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local(providers: Any) -> None:
    providers.BILLING_PROVIDER = "local"


@pytest.mark.parametrize(
    ("role", "page", "act"),
    [
        (Role.OWNER, 200, True),
        (Role.ADMIN, 200, False),
        (Role.MEMBER, 403, False),
        (Role.VIEWER, 403, False),
    ],
)
def test_billing_read_sees_and_billing_manage_acts(
    as_role: Any, role: Role, page: int, act: bool
) -> None:
    browser = as_role(role)
    response = browser.get("/billing/")
    assert response.status_code == page
    if page == 200:
        assert ("Upgrade" in response.content.decode()) is act
    if act:
        assert browser.post("/billing/checkout/", {"plan": "pro_monthly"}).status_code == 302
    else:
        for path in (
            "/billing/checkout/",
            "/billing/portal/",
            "/billing/cancel/",
            "/billing/resume/",
        ):
            assert browser.post(path, {"plan": "pro_monthly"}).status_code == 403, path


def test_the_local_loop_upgrade_limits_lift_cancel_back_to_free(member: Any, org: Any) -> None:
    owner = client_for(member(Role.OWNER))
    assert "Free" in owner.get("/billing/").content.decode()

    checkout = owner.post("/billing/checkout/", {"plan": "pro_monthly"})
    assert checkout.status_code == 302
    assert "/billing/local/checkout/" in checkout["Location"]
    assert "Pay (test)" in owner.get(checkout["Location"]).content.decode()
    paid = owner.post(checkout["Location"], follow=True)
    assert "Pro is active" in paid.content.decode()
    assert limits_of(org.pk)["organization.members"] == 10
    assert WebhookEvent.objects.get().provider == "local"  # through the webhook handler

    owner.post("/billing/cancel/", {"when": "period_end"})
    subscription = PlanSubscription.objects.for_organization(org.pk).get()
    assert subscription.cancel_at_period_end
    assert subscription.status == "active"
    assert entitlements(org.pk).plan.code == "pro_monthly"  # until the period ends
    owner.post("/billing/resume/")
    assert not PlanSubscription.objects.for_organization(org.pk).get().cancel_at_period_end

    owner.post("/billing/cancel/", {"when": "now", "confirmed": "yes"})
    assert entitlements(org.pk).plan == FREE
    assert limits_of(org.pk)["organization.members"] == 5
    assert "Upgrade" in owner.get("/billing/").content.decode()


def test_a_checkout_link_is_bound_to_its_organization(member: Any, other_org: Any) -> None:
    owner = client_for(member(Role.OWNER))
    link = owner.post("/billing/checkout/", {"plan": "pro_yearly"})["Location"]
    stranger = client_for(member(Role.OWNER, organization=other_org))
    assert stranger.get(link).status_code == 404
    assert stranger.post(link).status_code == 404
    assert owner.get(link.replace("checkout/", "checkout/x")).status_code == 404
    assert not PlanSubscription.objects.unscoped().exists()


def test_a_second_checkout_while_subscribed_is_refused(member: Any, org: Any) -> None:
    owner = client_for(member(Role.OWNER))
    owner.post(owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    again = owner.post("/billing/checkout/", {"plan": "pro_yearly"}, follow=True)
    assert "already has a subscription" in again.content.decode()
    assert owner.post("/billing/checkout/", {"plan": "free"}, follow=True).status_code == 200


def test_the_plan_picker_lists_paid_plans(member: Any) -> None:
    page = client_for(member(Role.OWNER)).get("/billing/plans/").content.decode()
    for plan in PLANS.values():
        if not plan.is_free:
            assert f"Choose {plan.name}" in page


def test_an_upgrade_and_a_downgrade_in_place(member: Any, org: Any) -> None:
    owner = client_for(member(Role.OWNER))
    owner.post(owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    assert "Switch to Team" in owner.get("/billing/plans/").content.decode()

    owner.post("/billing/change/", {"plan": "team_monthly", "confirmed": "yes"})
    assert entitlements(org.pk).plan.code == "team_monthly"
    assert limits_of(org.pk)["organization.members"] is None
    owner.post("/billing/change/", {"plan": "pro_yearly", "confirmed": "yes"})
    assert limits_of(org.pk)["organization.members"] == 10
    assert PlanSubscription.objects.for_organization(org.pk).get().plan == "pro_yearly"

    refused = owner.post(
        "/billing/change/", {"plan": "pro_lifetime", "confirmed": "yes"}, follow=True
    )
    assert "Choose a subscription plan" in refused.content.decode()
    member_client = client_for(member(Role.MEMBER))
    assert (
        member_client.post(
            "/billing/change/", {"plan": "team_monthly", "confirmed": "yes"}
        ).status_code
        == 403
    )


def test_without_a_provider_nothing_is_sold_and_the_local_one_is_closed(
    member: Any, providers: Any
) -> None:
    owner = client_for(member(Role.OWNER))
    link = owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"]
    providers.BILLING_PROVIDER = "none"  # production with no keys configured
    refused = owner.post("/billing/checkout/", {"plan": "pro_monthly"}, follow=True)
    assert "Billing is not set up" in refused.content.decode()
    assert owner.post(link).status_code == 404
    assert (
        Client().post("/webhooks/local", b"{}", content_type="application/json").status_code == 404
    )
    assert entitlements(org_of(owner)).plan == FREE


def org_of(browser: Any) -> int:
    from kernel.actors import ACTIVE_ORGANIZATION_SESSION_KEY

    return int(browser.session[ACTIVE_ORGANIZATION_SESSION_KEY])


def test_past_due_and_trial_end_banners(member: Any, org: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    owner = client_for(member(Role.OWNER))
    viewer, member_ = client_for(member(Role.VIEWER)), client_for(member(Role.MEMBER))
    subscription = PlanSubscription.objects.create(
        organization=org, provider="local", external_id="sub_banner", plan="pro_monthly",
        status="past_due", current_period_end=timezone.now() + timedelta(days=3),
    )  # fmt: skip
    assert "The last payment failed" in owner.get("/organization/").content.decode()
    for without_billing_read in (viewer, member_):  # the banner is read through billing.read
        assert (
            "The last payment failed"
            not in without_billing_read.get("/organization/").content.decode()
        )
    subscription.status, subscription.trial_end = "trialing", timezone.now() + timedelta(days=2)
    subscription.save()
    assert "The trial ends on" in owner.get("/organization/").content.decode()
    assert "The trial ends on" not in viewer.get("/organization/").content.decode()
    subscription.trial_end = timezone.now() + timedelta(days=20)
    subscription.save()
    assert "The trial ends on" not in owner.get("/organization/").content.decode()


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 200), (Role.ADMIN, 200),
                                              (Role.MEMBER, 403), (Role.VIEWER, 403)])  # fmt: skip
def test_the_billing_api_needs_billing_read(as_role: Any, role: Role, status: int) -> None:
    response = as_role(role).get("/api/v1/billing")
    assert response.status_code == status
    if status == 403:
        assert response.json()["error"]["code"] == "forbidden"


def test_the_billing_api_reports_the_plan_and_usage_of_the_callers_organization(
    member: Any, org: Any, other_org: Any
) -> None:
    from organizations.mutations import api_key_issue

    owner = client_for(member(Role.OWNER))
    owner.post(owner.post("/billing/checkout/", {"plan": "team_monthly"})["Location"])
    creator = member(Role.ADMIN, organization=other_org)
    _key, raw = api_key_issue(organization_id=other_org.pk, name="k", permissions=["billing.read"],
                              created_by_id=creator.user_id)  # fmt: skip
    mine = owner.get("/api/v1/billing").json()
    assert (mine["plan"], mine["status"], mine["provider"]) == ("team_monthly", "active", "local")
    seats = {"kind": "organization.members", "label": "seats (members and pending invitations)",
             "used": 1, "allowed": None}  # fmt: skip
    assert seats in mine["limits"]
    assert "feature.team" in mine["capabilities"]
    theirs = Client().get("/api/v1/billing", headers={"Authorization": f"Bearer {raw}"}).json()
    their_seats = next(lim for lim in theirs["limits"] if lim["kind"] == "organization.members")
    assert (theirs["plan"], theirs["status"], their_seats["allowed"]) == ("free", "free", 5)
    assert their_seats["used"] == 1  # their organization's member, not ours


def test_limits_show_with_thousands_separators(member: Any, org: Any) -> None:
    """Whatever the domains' limits are (10,000 records on Pro with the demo)."""
    owner = client_for(member(Role.OWNER))
    owner.post(owner.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    billing, dashboard = (owner.get(path).content.decode() for path in ("/billing/", "/dashboard/"))
    for kind, allowed in limits_of(org.pk).items():
        if allowed is not None:
            assert f">{allowed:,}<" in billing, kind
            assert f"/ {allowed:,}<" in dashboard, kind
