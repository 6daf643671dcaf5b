"""The operators' admin in a real browser: the list, the reason page, a suspension."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from billing.mutations import manual_grant_create
from kernel.actor import System
from kernel.door import call
from kernel.permissions import Role
from organizations.models import AuditEvent, Organization
from tests.accounts.helpers import operator_client
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = "/work/i16/shots"
REASON = "Phishing pages reported by two banks"


def session_cookie(client: Client, base: str) -> dict[str, str]:
    """The test client's signed-in session, for the browser talking to the server."""
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": base}


def test_an_operator_suspends_from_the_list_with_a_reason(browser):
    acme = OrganizationFactory(name="Acme Robotics")
    for role in (Role.OWNER, Role.ADMIN, Role.MEMBER):
        MembershipFactory(organization=acme, role=role)
    globex = OrganizationFactory(name="Globex")
    MembershipFactory(organization=globex, role=Role.OWNER)
    call(
        manual_grant_create,
        System("operator"),
        {"organization_id": globex.pk, "plan_code": "team_monthly", "note": "partner"},
    )
    OrganizationFactory(name="Initech", status="suspended", status_reason="Unpaid since May")
    ops = operator_client()

    with app_server() as base:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([session_cookie(ops, base)])
        page = context.new_page()
        page.goto(f"{base}/admin/organizations/organization/")
        assert "LAST ACTIVITY" in page.inner_text("#result_list thead").upper()
        page.screenshot(path=f"{SHOTS}/suspension-admin-list-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}/suspension-admin-list-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        page.check(f"input[name=_selected_action][value='{acme.pk}']")
        page.select_option("select[name=action]", "suspend")
        page.click("button[name=index]")
        page.wait_for_selector("textarea[name=reason]")
        page.screenshot(path=f"{SHOTS}/suspension-admin-reason-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}/suspension-admin-reason-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.fill("textarea[name=reason]", REASON)
        page.click("input[type=submit][value=Suspend]")
        page.wait_for_selector(".messagelist .success")
        page.screenshot(path=f"{SHOTS}/suspension-admin-done-1280.png", full_page=True)
        context.close()

    acme.refresh_from_db()
    assert (acme.status, acme.status_reason) == ("suspended", REASON)
    event = AuditEvent.objects.for_organization(acme.pk).get(action="organization.suspend")
    assert event.operator_label == "ops@example.com"
    assert Organization.objects.get(pk=globex.pk).status == "active"
