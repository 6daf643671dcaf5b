"""The free plan's record limit, through pages, the API and the socket; an upgrade by
webhook lifts it at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from kernel.permissions import Role
from tests.billing.conftest import (
    PRICES,
    STRIPE_WEBHOOK_SECRET,
    post_stripe,
    stripe_event,
    stripe_subscription,
)
from tests.conftest import bearer, client_for
from tests.factories import MembershipFactory, OrganizationFactory
from workspace_records.models import WorkspaceRecord

FREE_RECORD_LIMIT = 100
LIMIT_MESSAGE = "The Free plan allows up to 100 records. Upgrade to Pro for more."


@pytest.fixture(autouse=True)
def stripe(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_key"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.BILLING_PRICE_IDS = PRICES


def fill(organization_id: int) -> None:
    WorkspaceRecord.objects.bulk_create(
        WorkspaceRecord(organization_id=organization_id, title=f"r{n}")
        for n in range(FREE_RECORD_LIMIT)
    )


@contextmanager
def holding_the_lock(organization_id: int) -> Iterator[None]:
    """Another creator's turn: the organization's plan-limit lock on records, held on a
    connection of its own."""
    import psycopg

    from kernel.change_capture import database_conninfo
    from kernel.limits import lock_key
    from workspace_records.mutations import RECORDS

    with psycopg.connect(database_conninfo(), autocommit=True) as holder:
        key = lock_key(organization_id, RECORDS)
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (True,)
        yield


def upgrade(organization_id: int) -> None:
    response = post_stripe(
        Client(),
        stripe_event(
            "customer.subscription.created",
            stripe_subscription(organization_id, id=f"sub_{organization_id}"),
        ),
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_pages_and_api_hit_the_limit_and_an_upgrade_lifts_it(
    org: Any, member: Any, make_key: Any
) -> None:
    fill(org.pk)
    browser = client_for(member(Role.MEMBER))
    api_headers = bearer(make_key(Role.MEMBER))

    page = browser.post("/records/", {"title": "one more"})
    assert page.status_code == 402
    assert LIMIT_MESSAGE in page.content.decode()
    api = browser.post(
        "/api/v1/records", {"title": "one more"}, content_type="application/json", **api_headers
    )
    assert (api.status_code, api.json()["error"]["code"]) == (402, "plan_limit")
    assert api.json()["error"]["message"] == LIMIT_MESSAGE

    upgrade(org.pk)
    assert browser.post("/records/", {"title": "after upgrade"}).status_code == 302
    api = browser.post(
        "/api/v1/records", {"title": "via api"}, content_type="application/json", **api_headers
    )
    assert api.status_code == 201
    assert WorkspaceRecord.objects.for_organization(org.pk).count() == FREE_RECORD_LIMIT + 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_the_socket_hits_the_limit_and_an_upgrade_lifts_it() -> None:
    from organizations.mutations import api_key_issue

    def setup() -> tuple[int, str]:
        org = OrganizationFactory()
        fill(org.pk)
        creator = MembershipFactory(organization=org, role=Role.MEMBER)
        _key, raw = api_key_issue(
            organization_id=org.pk,
            name="s",
            permissions=["workspace.records.create"],
            created_by_id=creator.user_id,
        )
        return org.pk, raw

    org_id, raw = await database_sync_to_async(setup)()
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {raw}".encode())]
    )
    assert (await socket.connect())[0]
    await socket.send_json_to(
        {"type": "mutation", "id": 1, "name": "records.create", "args": {"title": "x"}}
    )
    refused = await socket.receive_json_from(timeout=5)
    assert (refused["type"], refused["code"], refused["message"]) == (
        "error",
        "plan_limit",
        LIMIT_MESSAGE,
    )

    await database_sync_to_async(upgrade)(org_id)
    await socket.send_json_to(
        {"type": "mutation", "id": 2, "name": "records.create", "args": {"title": "x"}}
    )
    created = await socket.receive_json_from(timeout=5)
    assert (created["type"], created["value"]["title"]) == ("result", "x")
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_on_a_limited_plan_never_conflict(
    org: Any, make_key: Any, caplog: Any
) -> None:
    """8 clients creating at once in one organization, 4 records short of the limit:
    exactly 4 are created, the rest answered `plan_limit`, none `conflict`, and no
    attempt had to be retried (the count ran inside SERIALIZABLE before, with thousands
    of retries and about one create in ten answered 409)."""
    import logging
    import threading

    from django.db import connection

    WorkspaceRecord.objects.bulk_create(
        WorkspaceRecord(organization_id=org.pk, title=f"r{n}") for n in range(FREE_RECORD_LIMIT - 4)
    )
    headers = bearer(make_key(Role.OWNER))
    answers: list[int] = []
    start = threading.Barrier(8)

    def create(n: int) -> None:
        client = Client()
        start.wait()
        for attempt in range(3):
            response = client.post(
                "/api/v1/records",
                {"title": f"concurrent {n}.{attempt}"},
                content_type="application/json",
                **headers,
            )
            answers.append(response.status_code)
        connection.close()

    with caplog.at_level(logging.INFO, logger="kernel.mutations"):
        threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(set(answers)) == [201, 402]
    assert answers.count(201) == 4
    assert WorkspaceRecord.objects.for_organization(org.pk).count() == FREE_RECORD_LIMIT
    assert "conflicted" not in caplog.text  # no attempt was retried


@pytest.mark.django_db(transaction=True)
def test_a_create_waiting_too_long_for_its_turn_is_rate_limited_and_writes_nothing(
    org: Any, make_key: Any, monkeypatch: Any
) -> None:
    """Another creator in the organization holds the plan-limit lock: the create queues
    for LOCK_WAIT_SECONDS, then answers `rate_limited` (429), creates nothing, and leaves
    its connection with the session's own lock timeout."""
    from django.db import connection

    from kernel import limits

    monkeypatch.setattr(limits, "LOCK_WAIT_SECONDS", 0.3)
    with holding_the_lock(org.pk):
        response = Client().post(
            "/api/v1/records",
            {"title": "waited"},
            content_type="application/json",
            **bearer(make_key(Role.OWNER)),
        )
        assert response.status_code == 429, response.content
        assert response.json()["error"]["code"] == "rate_limited"
        assert response["Retry-After"] == "1"
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone() == ("0",)

    assert not WorkspaceRecord.objects.for_organization(org.pk).filter(title="waited").exists()
    created = Client().post(  # the holder is gone: the next create takes its turn at once
        "/api/v1/records",
        {"title": "later"},
        content_type="application/json",
        **bearer(make_key(Role.OWNER)),
    )
    assert created.status_code == 201, created.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_a_socket_create_waiting_for_its_turn_holds_back_no_one_s_live_values(
    monkeypatch: Any,
) -> None:
    """A socket create queues for its organization's plan-limit lock; meanwhile a write in
    another organization still reaches that organization's subscriber, before the create
    is answered. (The hub used the thread every socket's sync work shares, so one waiting
    mutation held every push in the process back until it was done.)"""
    import asyncio
    import contextlib

    from kernel import limits
    from tests.kernel.live_helpers import key_for

    monkeypatch.setattr(limits, "LOCK_WAIT_SECONDS", 30)

    def setup() -> tuple[int, str, int, str]:
        waiting, watched = OrganizationFactory(), OrganizationFactory()
        creator = key_for(waiting.pk, permissions=["workspace.records.create"])
        reader = key_for(watched.pk, permissions=["workspace.records.read"])
        return waiting.pk, creator, watched.pk, reader

    waiting_id, creator_key, watched_id, reader_key = await database_sync_to_async(setup)()
    watcher = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {reader_key}".encode())]
    )
    creator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {creator_key}".encode())]
    )
    assert (await watcher.connect())[0]
    assert (await creator.connect())[0]
    await watcher.send_json_to({"type": "subscribe", "id": "s", "query": "records.list"})
    assert (await watcher.receive_json_from(timeout=5))["value"]["records"] == []

    with contextlib.ExitStack() as stack:
        await asyncio.to_thread(stack.enter_context, holding_the_lock(waiting_id))
        await creator.send_json_to(
            {"type": "mutation", "id": 1, "name": "records.create", "args": {"title": "queued"}}
        )
        assert await creator.receive_nothing(timeout=0.3)  # waiting for its turn

        await asyncio.to_thread(
            lambda: WorkspaceRecord.objects.create(organization_id=watched_id, title="pushed")
        )
        pushed = await watcher.receive_json_from(timeout=5)
        assert [r["title"] for r in pushed["value"]["records"]] == ["pushed"]
        assert await creator.receive_nothing(timeout=0.1)  # still waiting
        await asyncio.to_thread(stack.close)  # the other creator is done

    created = await creator.receive_json_from(timeout=5)
    assert (created["type"], created["value"]["title"]) == ("result", "queued")
    await watcher.disconnect()
    await creator.disconnect()
