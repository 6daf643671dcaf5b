"""Sockets follow the browser session: signing out closes them; programs need no Origin."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from kernel.permissions import Role
from tests.accounts.helpers import login, make_verified_user
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stop_hub")]


def signed_in_client() -> Client:
    user = make_verified_user("live@example.com")
    MembershipFactory(user=user, role=Role.OWNER)
    client = Client()
    login(client, user.email)
    return client


async def browser_socket(client: Client) -> WebsocketCommunicator:
    """A socket opened by the browser holding this client's session cookie."""
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[
            (b"host", b"localhost:8000"),
            (b"origin", b"http://localhost:8000"),
            (b"cookie", cookie.encode()),
        ],
    )
    assert (await communicator.connect())[0]
    return communicator


async def test_signing_out_closes_the_sessions_sockets():
    client = await database_sync_to_async(signed_in_client)()
    communicator = await browser_socket(client)
    await communicator.send_json_to({"type": "subscribe", "id": "m", "query": "members.list"})
    first = await communicator.receive_json_from(timeout=5)
    assert [(m["user"]["email"], m["role"]) for m in first["value"]] == [
        ("live@example.com", "owner")
    ]

    await database_sync_to_async(client.post)("/accounts/logout/")

    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}


async def test_signing_out_other_sessions_closes_their_sockets():
    def two_sessions() -> tuple[Client, Client]:
        first = signed_in_client()
        second = Client()
        login(second, "live@example.com")
        return first, second

    first, second = await database_sync_to_async(two_sessions)()
    communicator = await browser_socket(second)

    await database_sync_to_async(first.post)("/accounts/sessions/")  # "sign out other sessions"

    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}


async def test_programs_without_origin_may_connect_with_an_api_key():
    communicator = WebsocketCommunicator(application, "/ws/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "ping", "id": 1})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "id": 1}
    await communicator.disconnect()


async def test_removing_a_member_ends_their_subscriptions_with_forbidden():
    from organizations.models import Membership

    client = await database_sync_to_async(signed_in_client)()
    communicator = await browser_socket(client)
    await communicator.send_json_to({"type": "subscribe", "id": "m", "query": "members.list"})
    await communicator.receive_json_from(timeout=5)

    def remove_them() -> None:
        Membership.objects.unscoped().get(user__email="live@example.com").delete()

    await database_sync_to_async(remove_them)()
    frame = await communicator.receive_json_from(timeout=5)
    while frame["type"] == "result":
        frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["id"], frame["code"]) == ("error", "m", "forbidden")
    await communicator.disconnect()


async def test_deactivating_the_signed_in_person_ends_their_subscriptions_at_once():
    from django.contrib.auth import get_user_model

    client = await database_sync_to_async(signed_in_client)()
    communicator = await browser_socket(client)
    await communicator.send_json_to({"type": "subscribe", "id": "m", "query": "members.list"})
    await communicator.receive_json_from(timeout=5)

    await database_sync_to_async(
        lambda: get_user_model().objects.filter(email="live@example.com").update(is_active=False)
    )()

    frame = await communicator.receive_json_from(timeout=5)
    while frame["type"] == "result":  # the members list shows them too: it may re-run first
        frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"]) == ("error", "forbidden")
    await communicator.disconnect()
