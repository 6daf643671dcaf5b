"""A suspension on the transports that stay open: live subscriptions over /ws/ end with
`suspended` the moment the organization's row changes (nothing the query reads changed),
new ones are refused, and after reactivation they work again — in-process and against a
real server process; and a person's browser is shown the suspended page."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from config.asgi import application
from kernel.actor import System
from kernel.door import call
from kernel.permissions import Role
from organizations.models import Organization
from organizations.suspension import organization_reactivate, organization_suspend
from tests.browser import browser_user, sign_in, signed_in_page
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.kernel.live_helpers import HOST, ORIGIN, key_for
from tests.servers import app_server

pytestmark = pytest.mark.django_db(transaction=True)
ONE_CYCLE = 10  # seconds: only bounds a hang
REASON = "Reported for sending spam"
SHOTS = "/work/i16/shots"


def operator() -> System:
    staff = UserFactory(is_staff=True)
    return System(f"operator {staff.email}", operator_id=staff.pk)


def set_status(organization_id: int, *, suspended: bool) -> None:
    function = organization_suspend if suspended else organization_reactivate
    reason = REASON if suspended else "Cleared after review"
    call(function, operator(), {"organization_id": organization_id, "reason": reason})


def organization_with_key() -> tuple[int, str]:
    org = OrganizationFactory(name="Socket Co")
    return org.pk, key_for(org.pk, Role.ADMIN, ("member.read",))


def test_cached_actors_depend_on_their_organization_s_row():
    """What both the live hub and the principal cache watch for a status change."""
    from kernel.change_capture import organizations_table

    assert organizations_table() == Organization._meta.db_table


# --- in-process (Channels' communicator) -------------------------------------------------


@pytest.mark.usefixtures("stop_hub")
async def test_a_subscription_ends_with_suspended_and_new_ones_are_refused_until_reactivated():
    org_id, raw = await database_sync_to_async(organization_with_key)()
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[HOST, ORIGIN, (b"authorization", f"Bearer {raw}".encode())]
    )
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "subscribe", "id": "m", "query": "members.list"})
    assert (await socket.receive_json_from(timeout=ONE_CYCLE))["type"] == "result"

    await database_sync_to_async(set_status)(org_id, suspended=True)

    ended = await socket.receive_json_from(timeout=ONE_CYCLE)
    assert (ended["type"], ended["id"], ended["code"]) == ("error", "m", "suspended")
    assert REASON in ended["message"]
    await socket.send_json_to({"type": "subscribe", "id": "again", "query": "members.list"})
    refused = await socket.receive_json_from(timeout=ONE_CYCLE)
    assert (refused["type"], refused["code"]) == ("error", "suspended")
    await socket.send_json_to(
        {"type": "mutation", "id": "w", "name": "api_keys.revoke", "args": {"key_id": 1}}
    )
    assert (await socket.receive_json_from(timeout=ONE_CYCLE))["code"] == "suspended"

    await database_sync_to_async(set_status)(org_id, suspended=False)

    await socket.send_json_to({"type": "subscribe", "id": "back", "query": "members.list"})
    back = await socket.receive_json_from(timeout=ONE_CYCLE)
    assert (back["type"], back["id"]) == ("result", "back")
    assert len(back["value"]) == 1  # the key's creator: nothing was removed
    await socket.disconnect()


# --- a real server process ---------------------------------------------------------------


def test_a_real_server_ends_subscriptions_and_answers_the_api_with_suspended():
    org_id, raw = organization_with_key()
    headers = {"Authorization": f"Bearer {raw}"}

    def api_get(base: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{base}/api/v1/members", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    async def scenario(base: str) -> None:
        ws_url = base.replace("http://", "ws://") + "/ws/"
        async with websockets.connect(ws_url, additional_headers=headers) as socket:
            await socket.send(json.dumps({"type": "subscribe", "id": "s", "query": "members.list"}))
            first = json.loads(await asyncio.wait_for(socket.recv(), ONE_CYCLE))
            assert first["type"] == "result"
            # The server now keeps the key and its organization's state between requests
            # (kernel/principal_cache.py): the suspension's notification must drop them.
            assert (await asyncio.to_thread(api_get, base))[0] == 200
            assert (await asyncio.to_thread(api_get, base))[0] == 200

            await asyncio.to_thread(set_status, org_id, suspended=True)  # committed here

            ended = json.loads(await asyncio.wait_for(socket.recv(), ONE_CYCLE))
            assert (ended["type"], ended["id"], ended["code"]) == ("error", "s", "suspended")
            status, body = await asyncio.to_thread(api_get, base)
            assert (status, body["error"]["code"]) == (403, "suspended")
            await socket.send(json.dumps({"type": "subscribe", "id": "t", "query": "members.list"}))
            refused = json.loads(await asyncio.wait_for(socket.recv(), ONE_CYCLE))
            assert refused["code"] == "suspended"

            await asyncio.to_thread(set_status, org_id, suspended=False)

            # The server learns of the reactivation by notification, a moment after commit.
            for attempt in range(50):
                frame = {"type": "subscribe", "id": f"u{attempt}", "query": "members.list"}
                await socket.send(json.dumps(frame))
                back = json.loads(await asyncio.wait_for(socket.recv(), ONE_CYCLE))
                if back["type"] == "result":
                    break
                assert back["code"] == "suspended"
                await asyncio.sleep(0.1)
            assert back["type"] == "result"
            status, _body = await asyncio.to_thread(api_get, base)
            assert status == 200

    with app_server() as base:
        asyncio.run(scenario(base))


# --- a browser ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_member_s_browser_shows_the_suspended_page_and_can_switch_or_sign_out(browser):
    org = OrganizationFactory(name="Acme Robotics")
    other = OrganizationFactory(name="Globex")
    ada = browser_user("ada@example.com")
    # Acme is where she worked last: a new session starts there.
    MembershipFactory(organization=org, user=ada, role=Role.ADMIN, last_used_at=timezone.now())
    MembershipFactory(organization=other, user=ada, role=Role.MEMBER)

    with app_server() as server:
        # Looking at a live page when it happens: told at once, and the link says why.
        context, page = signed_in_page(browser, server, ada.email, "/organization/")
        page.wait_for_function("() => window.live.state === 'live'")
        assert "Acme Robotics" in page.inner_text("[data-org-switcher] summary")
        set_status(org.pk, suspended=True)
        notice = page.locator("[data-live-notice=suspended]")
        notice.wait_for(timeout=10_000)
        notice.get_by_role("link", name="See why").click()
        page.wait_for_selector("[data-error=suspended]")
        assert REASON in page.inner_text("main")
        assert page.locator("main a[href='mailto:support@localhost']").count() == 1
        context.close()

        for width in (1280, 390):
            context, page = sign_in(browser, server, ada.email, "/dashboard/", width=width)
            page.wait_for_selector("[data-error=suspended]")
            page.screenshot(path=f"{SHOTS}/suspension-page-{width}.png", full_page=True)
            context.close()

        context, page = sign_in(browser, server, ada.email, "/dashboard/")
        page.click("main button:text-is('Sign out')")
        page.wait_for_url(lambda url: "/dashboard/" not in url)
        assert page.locator("header a:text-is('Sign in')").count() == 1
        context.close()

        context, page = sign_in(browser, server, ada.email, "/dashboard/")
        page.click(f"[data-switch='{other.pk}']")
        page.wait_for_url(f"{server}/dashboard/")
        assert page.locator("[data-error]").count() == 0
        assert "Globex" in page.inner_text("[data-org-switcher] summary")
        context.close()
