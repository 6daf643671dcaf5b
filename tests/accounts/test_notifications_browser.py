"""The header's bell in a real browser against real server processes: its count changes
live when a notification arrives or is read, and the list works without JavaScript."""

from __future__ import annotations

import pytest
from django.db import transaction

from kernel.models import Notification
from kernel.notifications import notify
from kernel.permissions import Role
from tests.browser import browser_user, sign_in, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _tell(user_id: int, name: str, **kwargs: str) -> None:
    with transaction.atomic():
        notify("notes.shared", users=[user_id], params={"name": name}, **kwargs)


def test_the_bell_counts_live_and_the_list_marks_read(browser, artifacts):
    org = OrganizationFactory(name="Bell Co")
    reader = browser_user("reader@example.com")
    other = browser_user("other@example.com")
    MembershipFactory(organization=org, user=reader, role=Role.MEMBER)
    MembershipFactory(organization=org, user=other, role=Role.OWNER)

    with app_server() as server:
        context, page = signed_in_page(browser, server, "reader@example.com", "/dashboard/")
        bell = page.locator("[data-bell]")
        badge = page.locator("[data-bell-count]")
        assert bell.is_visible()
        assert badge.is_hidden()
        page.wait_for_function("() => document.documentElement.dataset.live === 'live'")
        assert page.locator("[data-live-status]").is_hidden()  # the bell alone says nothing

        _tell(other.pk, "Mallory")  # someone else's: this bell stays at zero
        _tell(reader.pk, "Carol", link="/organization/")
        page.wait_for_selector("[data-bell][data-unread='1']", timeout=10_000)
        assert badge.inner_text() == "1"
        assert bell.get_attribute("aria-label") == "Notifications: 1 unread"
        _tell(reader.pk, "Dave")
        page.wait_for_selector("[data-bell][data-unread='2']", timeout=10_000)
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(artifacts / "notifications-bell-1280.png"))

        # The list: mark one read (a plain form), then all.
        bell.click()
        page.wait_for_url(f"{server}/account/notifications/")
        page.wait_for_selector("text=Dave shared a note.")
        assert page.locator("text=Mallory").count() == 0
        page.screenshot(path=str(artifacts / "notifications-list-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "notifications-list-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.locator(".notification-unread", has_text="Carol").locator("button").click()
        page.wait_for_selector("[data-bell][data-unread='1']", timeout=10_000)
        page.click("button:text-is('Mark all read')")
        page.wait_for_selector("text=All notifications marked read.")
        page.wait_for_selector("[data-bell-count][hidden]", state="attached", timeout=10_000)
        assert not Notification.objects.filter(user=reader, read_at=None).exists()

        page.goto(f"{server}/account/notifications/preferences/")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(artifacts / "notifications-preferences-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "notifications-preferences-390.png"), full_page=True)
        page.goto(f"{server}/dashboard/")
        _tell(reader.pk, "Erin")
        page.wait_for_selector("[data-bell][data-unread='1']", timeout=10_000)
        page.screenshot(path=str(artifacts / "notifications-bell-390.png"))
        context.close()

        # Without JavaScript: the server's count, the list and its forms.
        context, page = sign_in(
            browser, server, "reader@example.com", "/account/notifications/", javascript=False
        )
        assert page.locator("[data-bell-count]").inner_text() == "1"
        page.locator(".notification-unread button").click()
        page.wait_for_url(f"{server}/account/notifications/")
        assert page.locator(".notification-unread").count() == 0
        assert page.locator("[data-bell-count]").is_hidden()
        context.close()


def test_the_unsubscribe_page_works_signed_out(browser, artifacts):
    from kernel.models import NotificationPreference
    from kernel.notification_mail import unsubscribe_token

    person = browser_user("reader@example.com")
    token = unsubscribe_token(person.pk, ["billing"])
    with app_server() as server:
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 800})
            page = context.new_page()
            page.goto(f"{server}/account/notifications/unsubscribe/{token}/")
            page.screenshot(path=str(artifacts / f"notifications-unsubscribe-{width}.png"))
            context.close()
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{server}/account/notifications/unsubscribe/{token}/")
        page.click("main button:text-is('Unsubscribe')")
        page.wait_for_selector("text=You will no longer receive emails for: Billing.")
        page.screenshot(path=str(artifacts / "notifications-unsubscribed-1280.png"))
        context.close()
    assert NotificationPreference.objects.get(user=person, category="billing").delivery == "off"
