"""Live subscriptions follow their credentials, and what their queries really read.

Each revocation below changes nothing a subscription's query reads: the subscription
ends because the credential's own tables are change-captured, within one change cycle
(the next notification), not at the next unrelated write.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.utils import timezone

from config.asgi import application
from kernel import actors
from kernel.actor import Actor
from kernel.functions import FUNCTIONS
from kernel.live.hub import hub
from kernel.live.reads import recording
from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from tests.factories import MembershipFactory, OrganizationFactory
from tests.kernel.live_helpers import HOST, ORIGIN, key_for
from tests.tenant_app.models import Note

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stop_hub")]
ONE_CYCLE = 5  # seconds: a change cycle here is milliseconds; this only bounds a hang
PERMISSIONS = ("notes.read", "notes.write", "member.read")


async def socket_of(raw_key: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[HOST, ORIGIN, (b"authorization", f"Bearer {raw_key}".encode())],
    )
    assert (await socket.connect())[0]
    return socket


async def subscribe(socket: WebsocketCommunicator, query: str, frame_id: str = "s") -> Any:
    await socket.send_json_to({"type": "subscribe", "id": frame_id, "query": query})
    frame = await socket.receive_json_from(timeout=ONE_CYCLE)
    assert frame["type"] == "result", frame
    return frame["value"]


async def ended_with(socket: WebsocketCommunicator) -> str:
    frame = await socket.receive_json_from(timeout=ONE_CYCLE)
    assert frame["type"] == "error", frame
    return str(frame["code"])


def member_key(role: Role = Role.ADMIN) -> tuple[int, str, int]:
    org = OrganizationFactory()
    raw = key_for(org.pk, role, PERMISSIONS)
    creator = Membership.objects.for_organization(org.pk).get().user_id
    return org.pk, raw, creator


async def test_an_email_change_is_pushed_to_a_members_subscriber():
    _org_id, raw, creator = await database_sync_to_async(member_key)()
    socket = await socket_of(raw)
    first = await subscribe(socket, "members.list")
    assert [m["user"]["id"] for m in first] == [creator]

    await database_sync_to_async(
        lambda: get_user_model().objects.filter(pk=creator).update(email="new@example.com")
    )()

    frame = await socket.receive_json_from(timeout=ONE_CYCLE)
    assert [m["user"]["email"] for m in frame["value"]] == ["new@example.com"]
    await socket.disconnect()


async def test_revoking_a_key_ends_its_subscriptions_with_no_data_change():
    org_id, raw, _ = await database_sync_to_async(member_key)()
    socket = await socket_of(raw)
    await subscribe(socket, "notes.list")

    await database_sync_to_async(
        lambda: ApiKey.objects.for_organization(org_id).update(revoked_at=timezone.now())
    )()

    assert await ended_with(socket) == "unauthenticated"
    await socket.disconnect()


async def test_removing_the_keys_creator_ends_its_subscriptions_with_no_data_change():
    org_id, raw, creator = await database_sync_to_async(member_key)()
    socket = await socket_of(raw)
    await subscribe(socket, "notes.list")

    await database_sync_to_async(
        lambda: Membership.objects.for_organization(org_id).filter(user_id=creator).delete()
    )()

    assert await ended_with(socket) == "unauthenticated"
    await socket.disconnect()


async def test_deactivating_the_keys_creator_ends_its_subscriptions():
    _org_id, raw, creator = await database_sync_to_async(member_key)()
    socket = await socket_of(raw)
    await subscribe(socket, "notes.list")

    await database_sync_to_async(
        lambda: get_user_model().objects.filter(pk=creator).update(is_active=False)
    )()

    assert await ended_with(socket) == "unauthenticated"
    await socket.disconnect()


def hub_actor_role(subscription: Any) -> Role:
    return Role(subscription.actor.role)


async def test_a_demoted_creator_s_key_acts_with_the_new_role_at_once():
    org_id, raw, creator = await database_sync_to_async(lambda: member_key(Role.ADMIN))()
    socket = await socket_of(raw)
    await subscribe(socket, "notes.list")
    (subscription,) = hub().subscriptions
    assert isinstance(subscription.actor, Actor)
    assert subscription.actor.role == Role.ADMIN

    # Nothing notes.list reads changes; the key's credential is re-checked all the same.
    await database_sync_to_async(
        lambda: (
            Membership.objects.for_organization(org_id)
            .filter(user_id=creator)
            .update(role=Role.VIEWER)
        )
    )()

    assert await socket.receive_nothing(timeout=0.5)  # the same value: nothing pushed
    assert hub_actor_role(subscription) == Role.VIEWER
    await socket.disconnect()


async def test_re_runs_reuse_cached_actors_until_a_credential_table_changes(monkeypatch):
    from kernel.live import hub as hub_module

    rechecked: list[int] = []

    def counting(scopes: Any) -> Any:  # the real re-check, counted
        rechecked.append(len(scopes))
        return actors.recheck(scopes)

    monkeypatch.setattr(hub_module, "recheck", counting)
    org_id, raw, _ = await database_sync_to_async(member_key)()
    socket = await socket_of(raw)
    await subscribe(socket, "notes.list")
    # Subscribing was the key's first use: recording it writes the key's row, which
    # re-checks it once more. After that the actor stays cached.
    assert await socket.receive_nothing(timeout=0.5)
    rechecked.clear()

    for title in ("a", "b"):
        await database_sync_to_async(
            lambda title=title: Note.objects.create(organization_id=org_id, title=title)
        )()
        await socket.receive_json_from(timeout=ONE_CYCLE)
    assert rechecked == []  # data changes re-run with the cached actor

    await database_sync_to_async(lambda: MembershipFactory(organization_id=org_id))()
    assert await socket.receive_nothing(timeout=0.5)  # re-checked; value unchanged
    assert rechecked == [1]
    await socket.disconnect()


# --- read sets ---------------------------------------------------------------------------


def test_every_live_query_reads_only_change_captured_tables():
    """A live query reading a table that no change capture covers would never be pushed
    its changes: register one, and this fails naming it."""
    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    actor = actors.resolve(actors.Job(org.pk, owner.user_id))
    from kernel import door

    live = [f for f in FUNCTIONS.values() if f.live]
    assert live
    for query in live:
        with recording() as read:
            door.evaluate(query, actor, query.input())
        assert read.uncaptured == set(), f"{query.name} reads {read.uncaptured}"
        assert read.tenant or read.by_row, f"{query.name} read nothing captured"


def test_a_query_reading_an_uncaptured_table_is_caught(caplog):
    from kernel.live.hub import _warn_uncaptured

    with recording() as read:
        list(ApiKey.objects.unscoped().select_related("organization"))  # captured
        from kernel.models import IdempotencyRecord

        list(IdempotencyRecord.objects.all())  # bookkeeping: not captured
    assert read.tenant == {ApiKey._meta.db_table}
    assert read.by_row == {"organizations_organization"}
    assert read.uncaptured == {IdempotencyRecord._meta.db_table}
    with caplog.at_level(logging.ERROR, logger="kernel.live.hub"):
        _warn_uncaptured(FUNCTIONS["notes.list"], read)
    assert "kernel_idempotencyrecord" in caplog.text


async def test_what_a_subscription_watches_is_what_its_query_read():
    org_id, raw, _ = await database_sync_to_async(member_key)()
    socket = await socket_of(raw)
    await subscribe(socket, "members.list")
    (subscription,) = hub().subscriptions
    assert subscription.watching == {
        (Membership._meta.db_table, org_id),
        (get_user_model()._meta.db_table, "*"),
    }
    await socket.disconnect()
