"""Live queries end to end: a real socket, real commits, the real LISTEN connection. On
the test-only notes domain (tests/tenant_app): the live engine is the kernel's."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction
from django.utils import timezone

from config.asgi import application
from kernel import actors
from kernel.actor import Actor
from kernel.door import call
from kernel.functions import FUNCTIONS
from kernel.permissions import Role
from organizations.models import ApiKey
from tests.factories import MembershipFactory, OrganizationFactory
from tests.kernel.live_helpers import HOST, ORIGIN, key_for
from tests.tenant_app import mutations
from tests.tenant_app.models import Note
from tests.tenant_app.schemas import NoteFilters

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stop_hub")]


def setup_org() -> tuple[int, str]:
    org = OrganizationFactory()
    return org.pk, key_for(org.pk)


async def subscribed(raw_key: str, query: str = "notes.list") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[HOST, ORIGIN, (b"authorization", f"Bearer {raw_key}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "subscribe", "id": "s", "query": query, "args": {}})
    return communicator


async def next_titles(communicator: WebsocketCommunicator) -> list[str]:
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "result", frame
    assert frame["id"] == "s"
    return [note["title"] for note in frame["value"]]


async def test_every_committed_write_path_pushes_and_nothing_else_does():
    org_id, raw = await database_sync_to_async(setup_org)()
    other_id, _ = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    assert await next_titles(communicator) == []

    def through_a_mutation() -> None:
        scope = {"headers": [(b"authorization", f"Bearer {raw}".encode())]}
        call(mutations.note_create, actors.resolve(scope), {"title": "via mutation"})

    await database_sync_to_async(through_a_mutation)()
    assert await next_titles(communicator) == ["via mutation"]

    await database_sync_to_async(
        lambda: Note.objects.for_organization(org_id).update(title="via update")
    )()
    assert await next_titles(communicator) == ["via update"]

    def raw_sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tenant_app_note SET title = 'via sql' WHERE organization_id = %s",
                [org_id],
            )

    await database_sync_to_async(raw_sql)()
    assert await next_titles(communicator) == ["via sql"]

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                Note.objects.create(organization_id=org_id, title="never")
                raise RuntimeError
        except RuntimeError:
            pass

    await database_sync_to_async(rolled_back)()
    await database_sync_to_async(
        lambda: Note.objects.create(organization_id=other_id, title="elsewhere")
    )()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_burst_of_commits_is_one_push_and_unchanged_values_are_not_pushed():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def burst() -> None:
        for n in range(5):
            Note.objects.create(organization_id=org_id, title=f"burst {n}")

    await database_sync_to_async(burst)()
    titles = await next_titles(communicator)
    while len(titles) < 5:  # at most a couple of pushes, converging on the final value
        titles = await next_titles(communicator)
    assert sorted(titles) == [f"burst {n}" for n in range(5)]

    # A write that does not change the query's value pushes nothing.
    await database_sync_to_async(
        lambda: Note.objects.for_organization(org_id).filter(title="nope").update(body="x")
    )()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_revoking_the_key_ends_the_subscription():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def revoke_and_write() -> None:
        ApiKey.objects.for_organization(org_id).update(revoked_at=timezone.now())
        Note.objects.create(organization_id=org_id, title="after revoke")

    await database_sync_to_async(revoke_and_write)()
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["id"], frame["code"]) == ("error", "s", "unauthenticated")
    await communicator.disconnect()


async def test_unknown_queries_and_missing_credentials_are_errors():
    communicator = WebsocketCommunicator(application, "/ws/", headers=[HOST, ORIGIN])
    await communicator.connect()
    await communicator.send_json_to({"type": "subscribe", "id": 1, "query": "notes.list"})
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"]) == ("error", "unauthenticated")
    await communicator.send_json_to({"type": "subscribe", "id": 2, "query": "organization_delete"})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["code"] == "not_found"
    await communicator.disconnect()
    await asyncio.sleep(0)


def another_key(org_id: int, role: Role = Role.MEMBER) -> str:
    return key_for(org_id, role)


async def test_subscribers_with_equal_permissions_share_one_re_run():
    from kernel.live.hub import hub

    org_id, raw = await database_sync_to_async(setup_org)()
    equal = [raw, *[await database_sync_to_async(another_key)(org_id) for _ in range(2)]]
    viewer = await database_sync_to_async(another_key)(org_id, Role.VIEWER)
    sockets = [await subscribed(key) for key in [*equal, *equal, viewer]]
    for socket in sockets:
        await next_titles(socket)
    await asyncio.sleep(0.5)  # each key's first use is written to its row: re-checks settle
    before = hub().executions

    await database_sync_to_async(
        lambda: Note.objects.create(organization_id=org_id, title="shared")
    )()
    for socket in sockets:
        assert await next_titles(socket) == ["shared"]
    # Seven subscribers, three keys with equal permissions + one viewer: two query runs.
    assert hub().executions - before == 2
    for socket in sockets:
        await socket.disconnect()


async def test_queries_that_read_the_actor_itself_are_not_shared_between_actors():
    from kernel.live.hub import hub

    org_id, raw = await database_sync_to_async(setup_org)()
    other = await database_sync_to_async(another_key)(org_id)
    author = await database_sync_to_async(
        lambda: MembershipFactory(organization_id=org_id).user_id
    )()
    first, second = await subscribed(raw, "notes.mine"), await subscribed(other, "notes.mine")
    await first.receive_json_from(timeout=5)
    await second.receive_json_from(timeout=5)
    await asyncio.sleep(0.5)  # each key's first use is written to its row: re-checks settle
    before = hub().executions

    def someone_elses_note() -> None:
        Note.objects.create(organization_id=org_id, title="x", created_by_id=author)

    await database_sync_to_async(someone_elses_note)()
    await asyncio.sleep(0.5)
    assert hub().executions - before == 2  # one run per actor; values unchanged, no push
    assert await first.receive_nothing(timeout=0.1)
    await first.disconnect()
    await second.disconnect()


async def test_a_subscriber_converges_after_the_listener_lost_notifications():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def kill_listener_then_write() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN kernel_changes'"
            )
        Note.objects.create(organization_id=org_id, title="while deaf")

    await database_sync_to_async(kill_listener_then_write)()
    # Told while it could not be kept current, then the value, then that it is live again.
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "status",
        "state": "unavailable",
    }
    assert await next_titles(communicator) == ["while deaf"]  # re-run after reconnecting
    assert await communicator.receive_json_from(timeout=5) == {"type": "status", "state": "live"}
    await communicator.disconnect()


async def test_socket_mutations_run_in_order_exactly_once():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)
    for n in range(3):
        await communicator.send_json_to(
            {
                "type": "mutation",
                "id": f"m{n}",
                "name": "notes.create",
                "args": {"title": f"t{n}"},
            }
        )
    results: list[dict] = []
    while len(results) < 3:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["id"] != "s":
            results.append(frame)
    assert [(f["type"], f["id"]) for f in results] == [
        ("result", "m0"),
        ("result", "m1"),
        ("result", "m2"),
    ]

    # A reconnecting client re-sends m1: the first result comes back, nothing is written.
    await communicator.disconnect()
    again = await subscribed(raw)
    await next_titles(again)
    await again.send_json_to(
        {"type": "mutation", "id": "m1", "name": "notes.create", "args": {"title": "t1"}}
    )
    frame = await again.receive_json_from(timeout=5)
    assert (frame["type"], frame["value"]["id"]) == ("result", results[1]["value"]["id"])
    count = await database_sync_to_async(lambda: Note.objects.for_organization(org_id).count())()
    assert count == 3
    await again.disconnect()


async def test_a_viewer_cannot_mutate_and_internal_functions_are_not_callable():
    def viewer_key() -> str:
        return key_for(OrganizationFactory().pk, Role.VIEWER)

    raw = await database_sync_to_async(viewer_key)()
    communicator = await subscribed(raw)
    await next_titles(communicator)
    await communicator.send_json_to(
        {"type": "mutation", "id": "x", "name": "notes.create", "args": {"title": "no"}}
    )
    assert (await communicator.receive_json_from(timeout=5))["code"] == "forbidden"
    for internal in ("notes.reset", "billing.apply_event", "memberships.save_by_operator"):
        assert FUNCTIONS[internal].internal
        await communicator.send_json_to(
            {"type": "mutation", "id": internal, "name": internal, "args": {}}
        )
        frame = await communicator.receive_json_from(timeout=5)
        assert (frame["id"], frame["code"]) == (internal, "not_found")
    await communicator.send_json_to(
        {"type": "subscribe", "id": "q", "query": "notes.count_everywhere", "args": {}}
    )
    assert (await communicator.receive_json_from(timeout=5))["code"] == "not_found"
    await communicator.disconnect()


async def test_an_api_key_in_the_first_frame_authenticates_the_socket():
    _org_id, raw = await database_sync_to_async(setup_org)()
    communicator = WebsocketCommunicator(application, "/ws/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "auth", "id": "a", "token": "sk_bogus_key"})
    assert (await communicator.receive_json_from(timeout=5))["code"] == "unauthenticated"
    await communicator.send_json_to({"type": "auth", "id": "a", "token": raw})
    assert await communicator.receive_json_from(timeout=5) == {"type": "authenticated", "id": "a"}
    await communicator.send_json_to({"type": "subscribe", "id": "s", "query": "notes.list"})
    assert await next_titles(communicator) == []
    await communicator.disconnect()


async def test_a_change_made_in_the_admin_is_pushed():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def operator_edits_in_the_admin() -> None:
        from tests.accounts.helpers import operator_client

        note = Note.objects.create(organization_id=org_id, title="before")
        response = operator_client().post(
            f"/admin/tenant_app/note/{note.pk}/change/",
            {"organization": org_id, "title": "edited in the admin", "body": ""},
        )
        assert response.status_code == 302, response.content

    await database_sync_to_async(operator_edits_in_the_admin)()
    titles = await next_titles(communicator)
    while titles != ["edited in the admin"]:
        titles = await next_titles(communicator)
    await communicator.disconnect()


async def test_a_socket_holds_a_bounded_number_of_subscriptions():
    from kernel.consumers import MAX_SUBSCRIPTIONS

    _org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)
    for n in range(1, MAX_SUBSCRIPTIONS):
        await communicator.send_json_to({"type": "subscribe", "id": n, "query": "notes.list"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "result"
    await communicator.send_json_to(
        {"type": "subscribe", "id": "one-too-many", "query": "notes.list"}
    )
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["id"], frame["code"]) == ("one-too-many", "rate_limited")
    await communicator.send_json_to({"type": "ping", "id": "still-here"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.disconnect()


async def test_matching_a_change_only_touches_subscriptions_of_that_organization_and_table():
    from kernel.live.hub import Hub, Subscription

    org_id, raw = await database_sync_to_async(setup_org)()
    scope = {"headers": [(b"authorization", f"Bearer {raw}".encode())]}
    actor = await database_sync_to_async(actors.resolve)(scope)
    query = FUNCTIONS["notes.list"]
    hub = Hub()

    async def send(text: str) -> None:
        pass

    mine = Subscription("a", query, NoteFilters(), actor, {}, send)
    hub.add(mine)
    hub.watch(mine, frozenset({(query_table(), org_id)}))
    others = [
        Subscription(
            n,
            query,
            NoteFilters(),
            dataclasses.replace(actor, organization_id=10_000 + n),
            {},
            send,
        )
        for n in range(1000)
    ]
    for subscription in others:
        hub.add(subscription)
        assert isinstance(subscription.actor, Actor)
        hub.watch(subscription, frozenset({(query_table(), subscription.actor.organization_id)}))

    hub.changed("organizations_membership", org_id)  # a table the query does not read
    hub.changed(query_table(), 999_999)  # an organization no one subscribes to
    assert not any(hub.is_pending(s) for s in [mine, *others])
    hub.changed(query_table(), org_id)
    assert hub.is_pending(mine)
    assert not any(hub.is_pending(s) for s in others)
    hub.unsubscribe(mine)
    await hub.aclose()


def query_table() -> str:
    return Note._meta.db_table


async def test_a_value_too_large_for_one_frame_is_an_error_not_a_crash():
    org_id, raw = await database_sync_to_async(setup_org)()
    await database_sync_to_async(
        lambda: Note.objects.bulk_create(
            Note(organization_id=org_id, title=f"r{n}", body="b" * 25_000) for n in range(50)
        )
    )()
    communicator = await subscribed(raw)
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["id"], frame["code"]) == ("error", "s", "invalid_input")
    assert "larger than a socket frame" in frame["message"]
    await communicator.send_json_to({"type": "ping", "id": 1})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "id": 1}
    await communicator.disconnect()


@pytest.fixture
def polling(settings: Any) -> Iterator[None]:
    """LIVE_CHANGES=poll: triggers without NOTIFY, each process polls kernel_change."""
    from django.apps import apps

    from kernel.change_capture import install_triggers

    settings.LIVE_CHANGES, settings.LIVE_POLL_MS = "poll", 10
    install_triggers(apps.get_models())
    yield
    settings.LIVE_CHANGES = "notify"
    install_triggers(apps.get_models())


@pytest.mark.usefixtures("polling")
async def test_polling_delivers_commits_in_any_order_and_no_notify_is_sent():
    import psycopg

    from kernel.change_capture import CHANNEL, database_conninfo

    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    assert await next_titles(communicator) == []
    listener = await psycopg.AsyncConnection.connect(database_conninfo(), autocommit=True)
    await listener.execute(f"LISTEN {CHANNEL}")
    table = Note._meta.db_table
    insert = (
        f'INSERT INTO "{table}" (organization_id, title, body, version, created_at) '
        "VALUES (%s, %s, '', 1, now())"
    )

    # An older transaction (lower xid) that commits after a newer one is still delivered.
    older = await psycopg.AsyncConnection.connect(database_conninfo())
    await older.execute(insert, [org_id, "older, committed last"])
    await database_sync_to_async(
        lambda: Note.objects.create(organization_id=org_id, title="newer")
    )()
    assert await next_titles(communicator) == ["newer"]
    await older.commit()
    await older.close()
    assert sorted(await next_titles(communicator)) == ["newer", "older, committed last"]

    def rolled_back() -> None:
        with transaction.atomic():
            Note.objects.create(organization_id=org_id, title="never")
            transaction.set_rollback(True)

    await database_sync_to_async(rolled_back)()
    assert await communicator.receive_nothing(timeout=0.3)
    assert [n async for n in listener.notifies(timeout=0.1)] == []  # the lock-free mode
    await listener.close()
    await communicator.disconnect()


@pytest.fixture(params=["notify", "poll"])
def either_mode(request: pytest.FixtureRequest) -> None:
    if request.param == "poll":
        request.getfixturevalue("polling")


@pytest.mark.usefixtures("either_mode")
async def test_a_commit_before_the_listener_is_ready_still_reaches_the_first_subscriber(
    monkeypatch: pytest.MonkeyPatch,
):
    """The first subscription starts the listener and is evaluated at once; a commit that
    lands before the listener is connected (a busy machine, a slow database) must still
    reach it."""
    import psycopg

    from kernel.change_capture import database_conninfo
    from tests.proxy import tcp_proxy
    from tests.servers import database_address

    address = database_address()
    if address is None:
        pytest.skip("the embedded database is reached through a socket, not TCP")
    org_id, raw = await database_sync_to_async(setup_org)()
    conninfo = await database_sync_to_async(database_conninfo)()
    with tcp_proxy(*address, accepting=False) as slow_database:
        slow = psycopg.conninfo.make_conninfo(conninfo, host="127.0.0.1", port=slow_database.port)
        monkeypatch.setattr("kernel.live.listener.database_conninfo", lambda: slow)
        communicator = await subscribed(raw)
        assert await next_titles(communicator) == []  # evaluated; the listener still waits
        await database_sync_to_async(
            lambda: Note.objects.create(organization_id=org_id, title="before listening")
        )()
        slow_database.accept()
        assert await next_titles(communicator) == ["before listening"]
        await communicator.disconnect()
        await hub_closed()


async def hub_closed() -> None:
    """Close the LISTEN connection while its proxy still stands."""
    from kernel.live.hub import hub

    await hub().aclose()
