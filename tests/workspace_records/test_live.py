"""Live queries end to end: a real socket, real commits, the real LISTEN connection."""

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
from kernel.actor import Actor
from kernel.permissions import Role
from organizations.api_keys import api_key_issue
from organizations.models import ApiKey
from tests.factories import OrganizationFactory
from workspace_records import mutations
from workspace_records.models import WorkspaceRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stop_hub")]
ORIGIN = (b"origin", b"http://localhost:8000")


def setup_org() -> tuple[int, str]:
    org = OrganizationFactory()
    _key, raw = api_key_issue(
        organization_id=org.pk,
        name="live",
        role=Role.MEMBER,
        permissions=["workspace.records.read", "workspace.records.create"],
        created_by_id=None,
    )
    return org.pk, raw


async def subscribed(raw_key: str, query: str = "records.list") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[ORIGIN, (b"authorization", f"Bearer {raw_key}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "subscribe", "id": "s", "query": query, "args": {}})
    return communicator


async def next_titles(communicator: WebsocketCommunicator) -> list[str]:
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "result", frame
    assert frame["id"] == "s"
    return [record["title"] for record in frame["value"]["records"]]


async def test_every_committed_write_path_pushes_and_nothing_else_does():
    org_id, raw = await database_sync_to_async(setup_org)()
    other_id, _ = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    assert await next_titles(communicator) == []

    def through_a_mutation() -> None:
        from organizations.api_keys import actor_for_api_key

        mutations.record_create(actor=actor_for_api_key(raw), title="via mutation")

    await database_sync_to_async(through_a_mutation)()
    assert await next_titles(communicator) == ["via mutation"]

    await database_sync_to_async(
        lambda: WorkspaceRecord.objects.for_organization(org_id).update(title="via update")
    )()
    assert await next_titles(communicator) == ["via update"]

    def raw_sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE workspace_records_workspacerecord SET title = 'via sql' "
                "WHERE organization_id = %s",
                [org_id],
            )

    await database_sync_to_async(raw_sql)()
    assert await next_titles(communicator) == ["via sql"]

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                WorkspaceRecord.objects.create(organization_id=org_id, title="never")
                raise RuntimeError
        except RuntimeError:
            pass

    await database_sync_to_async(rolled_back)()
    await database_sync_to_async(
        lambda: WorkspaceRecord.objects.create(organization_id=other_id, title="elsewhere")
    )()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_burst_of_commits_is_one_push_and_unchanged_values_are_not_pushed():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def burst() -> None:
        for n in range(5):
            WorkspaceRecord.objects.create(organization_id=org_id, title=f"burst {n}")

    await database_sync_to_async(burst)()
    titles = await next_titles(communicator)
    while len(titles) < 5:  # at most a couple of pushes, converging on the final value
        titles = await next_titles(communicator)
    assert sorted(titles) == [f"burst {n}" for n in range(5)]

    # A write that does not change the query's value pushes nothing.
    await database_sync_to_async(
        lambda: (
            WorkspaceRecord.objects.for_organization(org_id).filter(title="nope").update(body="x")
        )
    )()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_revoking_the_key_ends_the_subscription():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def revoke_and_write() -> None:
        ApiKey.objects.for_organization(org_id).update(revoked_at=timezone.now())
        WorkspaceRecord.objects.create(organization_id=org_id, title="after revoke")

    await database_sync_to_async(revoke_and_write)()
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["id"], frame["code"]) == ("error", "s", "unauthenticated")
    await communicator.disconnect()


async def test_unknown_queries_and_missing_credentials_are_errors():
    communicator = WebsocketCommunicator(application, "/ws/", headers=[ORIGIN])
    await communicator.connect()
    await communicator.send_json_to({"type": "subscribe", "id": 1, "query": "records.list"})
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"]) == ("error", "unauthenticated")
    await communicator.send_json_to({"type": "subscribe", "id": 2, "query": "organization_delete"})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["code"] == "not_found"
    await communicator.disconnect()
    await asyncio.sleep(0)


def another_key(org_id: int, role: Role = Role.MEMBER) -> str:
    _key, raw = api_key_issue(
        organization_id=org_id,
        name="another",
        role=role,
        permissions=["workspace.records.read", "workspace.records.create"],
        created_by_id=None,
    )
    return raw


async def test_subscribers_with_equal_permissions_share_one_re_run():
    from kernel.live.hub import hub

    org_id, raw = await database_sync_to_async(setup_org)()
    equal = [raw, *[await database_sync_to_async(another_key)(org_id) for _ in range(2)]]
    viewer = await database_sync_to_async(another_key)(org_id, Role.VIEWER)
    sockets = [await subscribed(key) for key in [*equal, *equal, viewer]]
    for socket in sockets:
        await next_titles(socket)
    before = hub().executions

    await database_sync_to_async(
        lambda: WorkspaceRecord.objects.create(organization_id=org_id, title="shared")
    )()
    for socket in sockets:
        assert await next_titles(socket) == ["shared"]
    # Seven subscribers, three keys with equal permissions + one viewer: two query runs.
    assert hub().executions - before == 2
    for socket in sockets:
        await socket.disconnect()


async def test_queries_that_read_the_actor_itself_are_not_shared_between_actors():
    from kernel.live.hub import hub
    from kernel.live.registry import QUERIES, live_query

    @live_query("test.whoami", reads=(WorkspaceRecord._meta.db_table,))
    def whoami(*, actor: Actor) -> dict[str, object]:
        return {"records": [{"title": f"key {actor.api_key_id}"}]}

    try:
        org_id, raw = await database_sync_to_async(setup_org)()
        other = await database_sync_to_async(another_key)(org_id)
        first, second = await subscribed(raw, "test.whoami"), await subscribed(other, "test.whoami")
        seen = {(await next_titles(first))[0], (await next_titles(second))[0]}
        assert len(seen) == 2
        before = hub().executions
        await database_sync_to_async(
            lambda: WorkspaceRecord.objects.create(organization_id=org_id, title="x")
        )()
        await asyncio.sleep(0.5)
        assert hub().executions - before == 2  # one run per actor; values unchanged, no push
        assert await first.receive_nothing(timeout=0.1)
        await first.disconnect()
        await second.disconnect()
    finally:
        del QUERIES["test.whoami"]


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
        WorkspaceRecord.objects.create(organization_id=org_id, title="while deaf")

    await database_sync_to_async(kill_listener_then_write)()
    assert await next_titles(communicator) == ["while deaf"]  # re-run after reconnecting
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
                "name": "records.create",
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
        {"type": "mutation", "id": "m1", "name": "records.create", "args": {"title": "t1"}}
    )
    frame = await again.receive_json_from(timeout=5)
    assert (frame["type"], frame["value"]["id"]) == ("result", results[1]["value"]["id"])
    count = await database_sync_to_async(
        lambda: WorkspaceRecord.objects.for_organization(org_id).count()
    )()
    assert count == 3
    await again.disconnect()


async def test_a_viewer_cannot_mutate_and_internal_functions_are_not_callable():
    def viewer_key() -> str:
        org = OrganizationFactory()
        return api_key_issue(
            organization_id=org.pk,
            name="v",
            role=Role.VIEWER,
            permissions=["workspace.records.read"],
            created_by_id=None,
        )[1]

    raw = await database_sync_to_async(viewer_key)()
    communicator = await subscribed(raw)
    await next_titles(communicator)
    await communicator.send_json_to(
        {"type": "mutation", "id": "x", "name": "records.create", "args": {"title": "no"}}
    )
    assert (await communicator.receive_json_from(timeout=5))["code"] == "forbidden"
    await communicator.send_json_to(
        {"type": "mutation", "id": "y", "name": "organization_delete", "args": {}}
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
    await communicator.send_json_to({"type": "subscribe", "id": "s", "query": "records.list"})
    assert await next_titles(communicator) == []
    await communicator.disconnect()


async def test_a_change_made_in_the_admin_is_pushed():
    org_id, raw = await database_sync_to_async(setup_org)()
    communicator = await subscribed(raw)
    await next_titles(communicator)

    def operator_edits_in_the_admin() -> None:
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
        from django.test import Client

        from tests.accounts.helpers import make_verified_user

        record = WorkspaceRecord.objects.create(organization_id=org_id, title="before")
        operator = make_verified_user("ops@example.com")
        operator.is_staff = operator.is_superuser = True
        operator.save()
        TOTP.activate(operator, generate_totp_secret())
        client = Client()
        client.force_login(operator)
        response = client.post(
            f"/admin/workspace_records/workspacerecord/{record.pk}/change/",
            {"organization": org_id, "title": "edited in the admin", "status": "done", "body": ""},
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
        await communicator.send_json_to({"type": "subscribe", "id": n, "query": "records.list"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "result"
    await communicator.send_json_to(
        {"type": "subscribe", "id": "one-too-many", "query": "records.list"}
    )
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["id"], frame["code"]) == ("one-too-many", "rate_limited")
    await communicator.send_json_to({"type": "ping", "id": "still-here"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.disconnect()


async def test_matching_a_change_only_touches_subscriptions_of_that_organization_and_table():
    from kernel.live.hub import Hub, Subscription
    from kernel.live.registry import QUERIES
    from organizations.api_keys import actor_for_api_key

    org_id, raw = await database_sync_to_async(setup_org)()
    actor = await database_sync_to_async(actor_for_api_key)(raw)
    query = QUERIES["records.list"]
    hub = Hub()

    async def send(text: str) -> None:
        pass

    mine = Subscription("a", query, {}, actor, {}, send)
    hub.add(mine)
    others = [
        Subscription(n, query, {}, dataclasses.replace(actor, organization_id=10_000 + n), {}, send)
        for n in range(1000)
    ]
    for subscription in others:
        hub.add(subscription)

    hub.changed("organizations_membership", org_id)  # a table the query does not read
    hub.changed(query_table(), 999_999)  # an organization no one subscribes to
    assert not any(hub.is_pending(s) for s in [mine, *others])
    hub.changed(query_table(), org_id)
    assert hub.is_pending(mine)
    assert not any(hub.is_pending(s) for s in others)
    hub.unsubscribe(mine)
    await hub.aclose()


def query_table() -> str:
    return WorkspaceRecord._meta.db_table


async def test_a_value_too_large_for_one_frame_is_an_error_not_a_crash():
    org_id, raw = await database_sync_to_async(setup_org)()
    await database_sync_to_async(
        lambda: WorkspaceRecord.objects.bulk_create(
            WorkspaceRecord(organization_id=org_id, title=f"r{n}", body="b" * 25_000)
            for n in range(50)
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
    table = WorkspaceRecord._meta.db_table
    insert = (
        f'INSERT INTO "{table}" (organization_id, title, status, body, created_at, updated_at) '
        "VALUES (%s, %s, 'open', '', now(), now())"
    )

    # An older transaction (lower xid) that commits after a newer one is still delivered.
    older = await psycopg.AsyncConnection.connect(database_conninfo())
    await older.execute(insert, [org_id, "older, committed last"])
    await database_sync_to_async(
        lambda: WorkspaceRecord.objects.create(organization_id=org_id, title="newer")
    )()
    assert await next_titles(communicator) == ["newer"]
    await older.commit()
    await older.close()
    assert sorted(await next_titles(communicator)) == ["newer", "older, committed last"]

    def rolled_back() -> None:
        with transaction.atomic():
            WorkspaceRecord.objects.create(organization_id=org_id, title="never")
            transaction.set_rollback(True)

    await database_sync_to_async(rolled_back)()
    assert await communicator.receive_nothing(timeout=0.3)
    assert [n async for n in listener.notifies(timeout=0.1)] == []  # the lock-free mode
    await listener.close()
    await communicator.disconnect()
