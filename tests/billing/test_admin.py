"""Operators in the admin: webhook events (payload, reprocess) and manual grants."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing import processing
from billing.entitlements import entitlements
from billing.models import EventStatus, Grant, WebhookEvent
from billing.plans import FREE
from organizations.models import AuditEvent
from tests.accounts.helpers import operator_client
from tests.billing.conftest import post_stripe, stripe_event, stripe_subscription
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    return operator_client()


def test_a_failed_event_is_visible_and_reprocessed_from_the_admin(
    operator: Client, client: Client, org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = processing.apply_change
    monkeypatch.setattr(processing, "apply_change", lambda change, **key: 1 / 0)
    assert (
        post_stripe(
            client, stripe_event("customer.subscription.created", stripe_subscription(org.pk))
        ).status_code
        == 200
    )
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.FAILED

    detail = operator.get(f"/admin/billing/webhookevent/{event.pk}/change/").content.decode()
    assert "ZeroDivisionError" in detail
    assert "customer.subscription.created" in detail
    assert "sub_123" in detail

    monkeypatch.setattr(processing, "apply_change", real)
    response = operator.post(
        "/admin/billing/webhookevent/", {"action": "reprocess", "_selected_action": [event.pk]}
    )
    assert response.status_code == 302
    run_tasks()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert entitlements(org.pk).plan.code == "pro_monthly"


def test_operators_grant_and_revoke_plans_by_hand_audited(operator: Client, org: Any) -> None:
    response = operator.post(
        "/admin/billing/grant/grant-plan/",
        {
            "organization": org.pk,
            "plan": "pro_yearly",
            "expires_at": "",
            "note": "conference prize",
        },
    )
    assert response.status_code == 302
    assert entitlements(org.pk).plan.code == "pro_yearly"
    grant_ids = list(Grant.objects.for_organization(org.pk).values_list("pk", flat=True))
    operator.post("/admin/billing/grant/", {"action": "revoke", "_selected_action": grant_ids})
    assert entitlements(org.pk).plan == FREE
    audit = AuditEvent.objects.for_organization(org.pk)
    created = audit.get(action="billing.grant_create")
    assert created.actor_label == "operator ops@example.com"
    assert created.detail["note"] == "conference prize"
    assert audit.filter(action="billing.grant_revoke").count() == len(grant_ids)


def test_non_staff_cannot_reach_the_billing_admin(client: Client, member: Any) -> None:
    from kernel.permissions import Role
    from tests.conftest import client_for

    owner = client_for(member(Role.OWNER))
    assert owner.get("/admin/billing/grant/grant-plan/").status_code == 302  # to the login
    assert owner.get("/admin/billing/webhookevent/").status_code == 302


def test_an_organizations_billing_is_one_click_away_in_the_admin(
    operator: Client, client: Client, org: Any, other_org: Any
) -> None:
    post_stripe(client, stripe_event("customer.subscription.created", stripe_subscription(org.pk)))
    post_stripe(
        client,
        stripe_event(
            "customer.subscription.created",
            stripe_subscription(other_org.pk, id="sub_other"),
        ),
    )
    page = operator.get(f"/admin/organizations/organization/{org.pk}/change/").content.decode()
    assert f"/admin/billing/webhookevent/?organization_id={org.pk}" in page
    events = operator.get(f"/admin/billing/webhookevent/?organization_id={org.pk}")
    assert events.status_code == 200
    assert events.context["cl"].result_count == 1
    subscriptions = operator.get(
        f"/admin/billing/plansubscription/?organization__id__exact={org.pk}"
    )
    assert [s.external_id for s in subscriptions.context["cl"].result_list] == ["sub_123"]
    assert operator.get("/admin/billing/webhookevent/?q=not-a-number").status_code == 200


def test_operators_can_open_add_and_edit_organizations(
    operator: Client, org: Any, member: Any
) -> None:
    from kernel.permissions import Role

    member(Role.OWNER)
    assert operator.get(f"/admin/organizations/organization/{org.pk}/change/").status_code == 200
    assert operator.get("/admin/organizations/organization/add/").status_code == 200
