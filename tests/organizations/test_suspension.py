"""Operators suspend and reactivate organizations (organizations/suspension.py): who may,
with what reason, what every transport then answers, and that reactivating gives back
everything as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing.entitlements import entitlements
from billing.models import EventStatus, WebhookEvent
from kernel.actor import System
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations.models import AuditEvent, Organization
from organizations.suspension import organization_reactivate, organization_suspend
from tests.billing.conftest import (
    PRICES,
    STRIPE_WEBHOOK_SECRET,
    post_stripe,
    stripe_event,
    stripe_subscription,
)
from tests.conftest import actor_for, client_for
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
REASON = "Unpaid invoices since March"


@pytest.fixture
def ops(db: None) -> System:
    staff = UserFactory(email="ops@example.com", is_staff=True)
    return System(f"operator {staff.email}", operator_id=staff.pk)


def suspend(ops: System, org: Organization, reason: str = REASON) -> Any:
    return call(organization_suspend, ops, {"organization_id": org.pk, "reason": reason})


def reactivate(ops: System, org: Organization, reason: str = "Paid in full, thank you") -> Any:
    return call(organization_reactivate, ops, {"organization_id": org.pk, "reason": reason})


def refused(function: Any, principal: Any, raw: dict[str, Any]) -> AppError:
    with pytest.raises(AppError) as raised:
        call(function, principal, raw)
    return raised.value


# --- the mutations ----------------------------------------------------------------------------


def test_suspending_records_status_reason_time_and_one_audit_row_naming_the_operator(ops, org):
    before = timezone.now()
    out = suspend(ops, org)
    org.refresh_from_db()
    assert (org.status, org.status_reason) == ("suspended", REASON)
    assert org.status_changed_at is not None
    assert org.status_changed_at >= before
    assert (out.status, out.status_reason) == ("suspended", REASON)
    event = AuditEvent.objects.for_organization(org.pk).get()
    assert (event.action, event.result, event.actor_label) == (
        "organization.suspend",
        "success",
        "operator ops@example.com",
    )
    assert (event.operator_id, event.operator_label) == (ops.operator_id, "ops@example.com")
    assert (event.target_type, event.target_id, event.detail["note"]) == (
        "organization",
        str(org.pk),
        REASON,
    )
    assert event.summary == f"suspended the organization: “{REASON}”"


def test_reactivating_clears_the_reason_and_is_audited_with_the_earlier_one(ops, org):
    suspend(ops, org)
    reactivate(ops, org)
    org.refresh_from_db()
    assert (org.status, org.status_reason) == ("active", "")
    event = AuditEvent.objects.for_organization(org.pk).get(action="organization.reactivate")
    assert event.detail == {"note": "Paid in full, thank you", "suspended_for": REASON}
    assert event.summary == "reactivated the organization: “Paid in full, thank you”"


@pytest.mark.parametrize("reason", ["", "   ", "too short", "x" * 255])
def test_a_suspension_needs_a_reason_of_ten_to_254_characters(ops, org, reason):
    error = refused(organization_suspend, ops, {"organization_id": org.pk, "reason": reason})
    assert error.code == "invalid_input"
    assert "reason" in error.fields
    org.refresh_from_db()
    assert org.status == "active"
    assert not AuditEvent.objects.for_organization(org.pk).exists()


def test_only_an_active_staff_operator_changes_a_status(org, member):
    owner = member(Role.OWNER)
    not_staff = UserFactory()
    left = UserFactory(is_staff=True, is_active=False)
    raw = {"organization_id": org.pk, "reason": REASON}
    for principal in (
        System("operator"),  # no operator named: nobody to hold to account
        System("operator x", operator_id=not_staff.pk),
        System("operator y", operator_id=left.pk),
        actor_for(owner),  # an owner of the organization itself
    ):
        assert refused(organization_suspend, principal, raw).code == "forbidden"
    org.refresh_from_db()
    assert org.status == "active"
    assert not AuditEvent.objects.for_organization(org.pk).filter(result="success").exists()


def test_status_changes_that_make_no_sense_are_conflicts_and_unknown_ids_not_found(ops, org):
    assert (
        refused(organization_reactivate, ops, {"organization_id": org.pk, "reason": REASON}).code
        == "conflict"
    )
    suspend(ops, org)
    assert (
        refused(organization_suspend, ops, {"organization_id": org.pk, "reason": REASON}).code
        == "conflict"
    )
    Organization.objects.filter(pk=org.pk).update(status="pending_deletion")
    assert (
        refused(organization_suspend, ops, {"organization_id": org.pk, "reason": REASON}).code
        == "conflict"
    )
    assert (
        refused(organization_reactivate, ops, {"organization_id": org.pk, "reason": REASON}).code
        == "conflict"
    )
    missing = {"organization_id": 987654, "reason": REASON}
    assert refused(organization_suspend, ops, missing).code == "not_found"
    assert AuditEvent.objects.for_organization(org.pk).count() == 1  # the one suspension


def test_the_functions_are_internal_so_no_client_can_name_them():
    from kernel.functions import public_function

    assert public_function("organizations.suspend") is None
    assert public_function("organizations.reactivate") is None


# --- every transport, suspended and back ------------------------------------------------------


def test_the_suspended_page_offers_the_other_organizations_and_switching_works(ops, org, member):
    mine = member(Role.ADMIN)
    other = OrganizationFactory(name="Globex")
    also_suspended = OrganizationFactory(name="Initech")
    MembershipFactory(organization=other, user=mine.user, role=Role.VIEWER)
    MembershipFactory(organization=also_suspended, user=mine.user, role=Role.OWNER)
    suspend(ops, org)
    suspend(ops, also_suspended, "Reported for spam twice")
    browser = client_for(mine)

    page = browser.get("/organization/").content.decode()
    assert f'data-switch="{other.pk}"' in page  # the one they can use
    assert f'data-switch="{org.pk}"' not in page
    assert f'data-switch="{also_suspended.pk}"' not in page
    assert page.count("badge-danger") == 2
    assert 'action="/accounts/logout/"' in page

    switched = browser.post(
        "/organization/switch/", {"organization_id": other.pk, "next": "/dashboard/"}
    )
    assert switched.status_code == 302
    assert browser.get("/dashboard/").status_code == 200
    back = browser.post("/organization/switch/", {"organization_id": org.pk, "next": "/dashboard/"})
    assert back.status_code == 403
    assert 'data-error="suspended"' in back.content.decode()


def test_a_non_member_learns_nothing_of_a_suspended_organization(ops, org, other_org, member):
    outsider = MembershipFactory(organization=other_org, role=Role.OWNER)
    suspend(ops, org)
    browser = client_for(outsider)
    answer = browser.post(
        "/organization/switch/", {"organization_id": org.pk, "next": "/dashboard/"}
    )
    assert answer.status_code == 404  # not_found, as for any organization not theirs
    assert REASON not in answer.content.decode()


def test_pending_deletion_renders_the_organization_page_for_members(org, member):
    mine = member(Role.MEMBER)
    due = timezone.now() + timedelta(days=30)
    Organization.objects.filter(pk=org.pk).update(status="pending_deletion", deletion_due_at=due)
    page = client_for(mine).get("/dashboard/")
    assert page.status_code == 403
    text = page.content.decode()
    assert 'data-error="pending_deletion"' in text
    assert "Organization scheduled for deletion" in text
    assert f"{due:%d %B %Y}" in text


# --- webhooks still apply ---------------------------------------------------------------------


@pytest.fixture
def stripe(settings: Any) -> Any:
    settings.STRIPE_SECRET_KEY = "sk_test_key"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.BILLING_PRICE_IDS = PRICES
    return settings


def test_a_suspended_organization_s_webhooks_are_still_processed(ops, org, stripe, client: Client):
    suspend(ops, org)
    event = stripe_event("customer.subscription.created", stripe_subscription(org.pk))
    assert post_stripe(client, event).status_code == 200
    assert WebhookEvent.objects.get().status == EventStatus.PROCESSED
    assert entitlements(org.pk).plan.code == "pro_monthly"
    org.refresh_from_db()
    assert org.status == "suspended"  # applying billing changes no status
