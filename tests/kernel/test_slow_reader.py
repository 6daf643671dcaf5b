"""A client that stops reading costs the server bounded memory, and catches up after."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psutil
import pytest
import websockets

from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server_process
from tests.tenant_app.models import Note

pytestmark = pytest.mark.django_db(transaction=True)

ROWS, BODY_CHARS, CHANGES = 50, 16_000, 150  # 0.8 MB per value, 120 MB pushed in all


def test_a_client_that_stops_reading_does_not_grow_server_memory():
    org = OrganizationFactory()
    creator = MembershipFactory(organization=org, role=Role.MEMBER)
    _key, raw = api_key_issue(
        organization_id=org.pk, name="x", permissions=["notes.read"], created_by_id=creator.user_id
    )
    records = Note.objects.bulk_create(
        Note(organization_id=org.pk, title=f"r{n}", body="b" * BODY_CHARS) for n in range(ROWS)
    )
    headers = {"Authorization": f"Bearer {raw}"}
    loop = asyncio.new_event_loop()

    async def subscribe(url: str, **options: Any) -> Any:
        socket = await websockets.connect(url, additional_headers=headers, max_size=None, **options)
        await socket.send(json.dumps({"type": "subscribe", "id": "s", "query": "notes.list"}))
        await asyncio.wait_for(socket.recv(), 10)
        return socket

    async def titles(socket: Any) -> set[str]:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        return {note["title"] for note in frame["value"]}

    with app_server_process() as (base, process):
        url = base.replace("http://", "ws://") + "/ws/"
        # max_queue=1: the library stops reading the TCP socket once a frame is waiting.
        stalled = loop.run_until_complete(subscribe(url, max_queue=1))
        reading = loop.run_until_complete(subscribe(url))
        server = psutil.Process(process.pid)
        before = server.memory_info().rss

        for n in range(CHANGES):
            record = records[n % ROWS]
            record.title = f"v{n}"
            record.save(update_fields=["title"])
            # The other socket keeps being served, and paces the writes to the server.
            while f"v{n}" not in loop.run_until_complete(titles(reading)):
                pass
        grown = server.memory_info().rss - before

        async def catch_up() -> int:
            frames = 0
            while True:
                frames += 1
                if f"v{CHANGES - 1}" in await titles(stalled):
                    return frames

        frames_read = loop.run_until_complete(catch_up())
        for socket in (stalled, reading):
            loop.run_until_complete(socket.close())
    loop.close()

    pushed = CHANGES * ROWS * BODY_CHARS
    assert grown < pushed / 4, f"server grew {grown / 1e6:.0f} MB for {pushed / 1e6:.0f} MB pushed"
    # Values it missed were replaced, not queued: it catches up in far fewer frames.
    assert frames_read < CHANGES / 2
