"""Two app server processes: a change made through one reaches a subscriber of the other."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import websockets

from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_change_through_process_a_reaches_a_subscriber_on_process_b():
    org = OrganizationFactory()
    creator = MembershipFactory(organization=org, role=Role.MEMBER)
    _key, raw = api_key_issue(
        organization_id=org.pk,
        name="x",
        permissions=["notes.read", "notes.write"],
        created_by_id=creator.user_id,
    )
    headers = {"Authorization": f"Bearer {raw}"}

    async def scenario(server_a: str, server_b: str) -> list[str]:
        ws_url = server_b.replace("http://", "ws://") + "/ws/"
        async with websockets.connect(ws_url, additional_headers=headers) as socket:
            await socket.send(json.dumps({"type": "subscribe", "id": "s", "query": "notes.list"}))
            first = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert first["value"] == []

            def create() -> None:
                request = urllib.request.Request(
                    f"{server_a}/api/v1/test-notes",
                    method="POST",
                    data=json.dumps({"title": "from process A"}).encode(),
                    headers={**headers, "Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 201

            await asyncio.to_thread(create)
            pushed = json.loads(await asyncio.wait_for(socket.recv(), 10))
            return [note["title"] for note in pushed["value"]]

    with app_server() as server_a, app_server() as server_b:
        assert asyncio.run(scenario(server_a, server_b)) == ["from process A"]
