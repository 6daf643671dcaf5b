"""Live rows in a browser: a pushed row is the server's rendering (the same markup and
date format as a fresh page), an emptied list keeps its empty row, a member removed
while looking at the list is told; forms.js: a submit button shows its request running,
flash messages close and go, copy buttons copy."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, signed_in_page
from tests.e2e.test_live_notices import remove_member
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server
from workspace_records.models import WorkspaceRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROWS = "tbody[data-live-rows]"
SUBSCRIBED = "tbody[data-live-rows][data-live-updated]"


def test_a_pushed_row_is_rendered_by_the_server_as_on_a_fresh_page(browser, artifacts):
    org = OrganizationFactory(name="Rows Co")
    MembershipFactory(organization=org, user=browser_user("ada@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "ada@example.com", "/records/")
        page.wait_for_selector(SUBSCRIBED)
        assert "No records yet." in page.inner_text(ROWS)

        record = WorkspaceRecord.objects.create(organization=org, title="Pushed row")
        row = page.locator(f"{ROWS} tr", has_text="Pushed row")
        row.wait_for(timeout=10_000)  # no reload
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        pushed = row.evaluate("(tr) => tr.outerHTML")
        assert record.created_at.strftime("%-d %b %Y") in row.inner_text()  # "2 Dec 2026 …"
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(artifacts / "records-list-1280.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "records-list-390.png"), full_page=True)

        fresh = context.new_page()
        fresh.goto(f"{server}/records/")
        assert (
            fresh.locator(f"{ROWS} tr", has_text="Pushed row").evaluate("(tr) => tr.outerHTML")
            == pushed
        )

        page.goto(f"{server}/records/{record.pk}/")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(artifacts / "record-detail-1280.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "record-detail-390.png"), full_page=True)

        fresh.wait_for_selector(SUBSCRIBED)
        WorkspaceRecord.objects.for_organization(org.pk).delete()
        fresh.locator(ROWS, has_text="No records yet.").wait_for(timeout=10_000)
        assert fresh.locator(f"{ROWS} tr").count() == 1
        context.close()


def test_a_burst_of_changes_is_coalesced_and_ends_current(browser):
    org = OrganizationFactory(name="Burst Co")
    MembershipFactory(organization=org, user=browser_user("ada@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "ada@example.com", "/records/")
        page.wait_for_selector(SUBSCRIBED)
        partials: list[str] = []
        page.on("request", lambda r: partials.append(r.url) if r.headers.get("x-partial") else None)
        for n in range(12):
            WorkspaceRecord.objects.create(organization=org, title=f"Burst {n}")
        page.locator(f"{ROWS} tr", has_text="Burst 11").wait_for(timeout=10_000)
        page.wait_for_timeout(1000)  # let any queued fetch land
        assert page.locator(f"{ROWS} tr").count() == 12
        assert 1 <= len(partials) < 12
        context.close()


def test_a_member_removed_while_on_the_list_is_told(browser, artifacts):
    org = OrganizationFactory(name="Removal Co")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)
    MembershipFactory(organization=org, user=browser_user("gone@example.com"), role=Role.MEMBER)
    WorkspaceRecord.objects.create(organization=org, title="Shared plan")

    with app_server() as server:
        gone_context, gone = signed_in_page(browser, server, "gone@example.com", "/records/")
        gone.wait_for_selector(SUBSCRIBED)
        owner_context, owner = signed_in_page(browser, server, "owner@example.com")
        remove_member(owner, "gone@example.com")

        notice = gone.locator("[data-live-notice=forbidden]")
        notice.wait_for(timeout=10_000)
        assert "You no longer have access to this organization." in notice.inner_text()
        assert gone.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        gone.set_viewport_size({"width": 1280, "height": 800})
        gone.screenshot(path=str(artifacts / "notice-no-access-1280.png"))
        gone.set_viewport_size({"width": 390, "height": 844})
        gone.screenshot(path=str(artifacts / "notice-no-access-390.png"))
        gone_context.close()
        owner_context.close()


def test_the_submit_button_is_disabled_while_its_request_runs(browser, artifacts):
    org = OrganizationFactory(name="Busy Co")
    MembershipFactory(organization=org, user=browser_user("ada@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "ada@example.com", "/records/")
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        # What the button looks like once the form is on its way (kept across the
        # navigation), and a second click meanwhile.
        page.evaluate(
            """() => document.addEventListener("submit", () => setTimeout(() => {
                const button = document.querySelector(".records-create button");
                sessionStorage.busy = JSON.stringify(
                    [button.disabled, button.getAttribute("aria-busy"), button.textContent]);
                button.click();
                button.form.requestSubmit();
            }, 20))"""
        )
        page.fill("#id_title", "Slow network")
        page.click("button:text-is('Create record')")
        page.wait_for_selector("text=Record created.")

        assert page.evaluate("() => JSON.parse(sessionStorage.busy)") == [True, "true", "Creating…"]
        assert len(posts) == 1  # one request, however often it is clicked
        assert WorkspaceRecord.objects.for_organization(org.pk).count() == 1
        assert not page.locator(".records-create button").is_disabled()  # the next page

        # The flash message can be closed, and goes by itself after a few seconds.
        assert page.locator(".messages .message-close").count() == 1
        page.wait_for_selector(".messages", state="detached", timeout=9_000)
        context.close()


def test_a_copy_button_copies_its_elements_text(browser):
    org = OrganizationFactory(name="Copy Co")
    MembershipFactory(organization=org, user=browser_user("ada@example.com"), role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "ada@example.com", "/records/")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
        page.evaluate(
            """() => document.querySelector("main").insertAdjacentHTML("beforeend",
                '<code id="secret">sk_test_123</code>' +
                '<button type="button" class="button button-quiet" data-copy="#secret">Copy</button>')"""
        )
        page.click("[data-copy]")
        page.wait_for_selector("[data-copy]:text-is('Copied')")
        assert page.evaluate("() => navigator.clipboard.readText()") == "sk_test_123"
        page.wait_for_selector("[data-copy]:text-is('Copy')", timeout=5_000)
        context.close()
