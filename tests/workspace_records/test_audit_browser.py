"""The audit log's filters and its CSV in a real browser, at a desktop and a phone width
(screenshots into test-artifacts/screenshots/)."""

from __future__ import annotations

import contextlib
import csv
import io

import pytest

from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import mutations
from tests.browser import browser_user, sign_in
from tests.conftest import actor_for
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.servers import app_server
from workspace_records.mutations import record_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _activity(org) -> None:
    owner = MembershipFactory(
        organization=org, role=Role.OWNER, user=browser_user("olivia@example.com")
    )
    owner.user.display_name = "Olivia Owner"
    owner.user.save(update_fields=["display_name"])
    teammate = MembershipFactory(
        organization=org, role=Role.MEMBER, user=UserFactory(email="sam@example.com")
    )
    actor = actor_for(owner)
    call(mutations.organization_rename, actor, {"name": "Northwind Traders"})
    call(mutations.member_update_role, actor, {"membership_id": teammate.pk, "role": "admin"})
    call(record_create, actor_for(teammate), {"title": "Quarterly plan"})
    call(mutations.invitation_create, actor, {"email": "new.hire@example.com"})
    with contextlib.suppress(AppError):
        call(mutations.member_leave, actor)  # the only owner: refused, logged with why


@pytest.mark.parametrize("width", [1280, 390])
def test_an_owner_filters_the_log_and_downloads_it(browser, artifacts, width):
    org = OrganizationFactory(name="Northwind")
    _activity(org)
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    with app_server() as server:
        context, page = sign_in(browser, server, "olivia@example.com", width=width)
        page.goto(f"{server}/organization/audit/")
        assert page.locator("[data-audit-event]").count() == 5
        page.fill("input[name=actor]", "olivia")
        page.select_option("select[name=result]", "success")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_url(lambda url: "actor=olivia" in url)
        rows = page.locator("[data-audit-event]")
        assert rows.count() == 3  # renamed, re-roled, invited: not the refusal, not Sam's
        assert page.locator("text=Quarterly plan").count() == 0  # Sam's
        assert page.locator("input[name=actor]").input_value() == "olivia"
        page.screenshot(path=str(folder / f"audit-filtered-{width}.png"), full_page=True)

        with page.expect_download() as download:
            page.click("text=Download CSV")
        text = download.value.path().read_text("utf-8-sig")
        actions = [row["action"] for row in csv.DictReader(io.StringIO(text))]
        assert actions == ["invitation.create", "member.update_role", "organization.rename"]
        page.fill("input[name=since]", "2030-01-02")
        page.fill("input[name=until]", "2030-01-01")
        page.click("form[role=search] button[type=submit]")
        assert page.locator("[role=alert]").inner_text().count("on or after the start") == 1
        page.screenshot(path=str(folder / f"audit-bad-dates-{width}.png"), full_page=True)
        context.close()
