"""Records over the socket: the same validation, the same field errors and the same
versions as the pages and the API (the socket once passed arguments straight through)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.conftest import JSON, bearer
from tests.factories import MembershipFactory, OrganizationFactory
from workspace_records.models import WorkspaceRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stop_hub")]


def setup() -> tuple[int, str]:
    org = OrganizationFactory()
    creator = MembershipFactory(organization=org, role=Role.MEMBER)
    _key, raw = api_key_issue(
        organization_id=org.pk,
        name="socket",
        permissions=["workspace.records.read", "workspace.records.create",
                     "workspace.records.update"],
        created_by_id=creator.user_id,
    )  # fmt: skip
    return org.pk, raw


async def socket_for(raw: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {raw}".encode())]
    )
    assert (await socket.connect())[0]
    return socket


BAD = [
    ({"title": 123}, {"title": ["Enter text."]}),
    ({"title": ["x"]}, {"title": ["Enter text."]}),
    (
        {"title": "ok", "organization_id": 65},
        {"organization_id": ["This field is not accepted here."]},
    ),
    ({"title": "ok", "actor": {"role": "owner"}}, {"actor": ["This field is not accepted here."]}),
    ({"title": "x" * 201}, {"title": ["Use at most 200 characters."]}),
    ({"title": "\u202e\u200b"}, {"title": ["Use visible characters."]}),
]


@pytest.mark.parametrize(("args", "fields"), BAD, ids=[str(i) for i in range(len(BAD))])
async def test_bad_arguments_get_the_apis_field_errors_and_write_nothing(args: Any, fields: Any):
    org_id, raw = await database_sync_to_async(setup)()
    socket = await socket_for(raw)
    await socket.send_json_to({"type": "mutation", "id": 1, "name": "records.create", "args": args})
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"], frame["fields"]) == ("error", "invalid_input", fields)
    await socket.disconnect()

    api = await database_sync_to_async(Client().post)(
        "/api/v1/records", args, content_type=JSON, **bearer(raw)
    )
    assert (api.status_code, api.json()["error"]["fields"]) == (422, fields)
    count = await database_sync_to_async(
        lambda: WorkspaceRecord.objects.for_organization(org_id).count()
    )()
    assert count == 0


async def test_a_bad_filter_ends_the_subscription_with_the_apis_error():
    _org, raw = await database_sync_to_async(setup)()
    socket = await socket_for(raw)
    await socket.send_json_to(
        {"type": "subscribe", "id": "s", "query": "records.list", "args": {"status": "archived"}}
    )
    frame = await socket.receive_json_from(timeout=5)
    expected = {"status": ["Choose one of: open, in_progress, done."]}
    assert (frame["code"], frame["fields"]) == ("invalid_input", expected)
    await socket.disconnect()
    api = await database_sync_to_async(Client().get)(
        "/api/v1/records?status=archived", **bearer(raw)
    )
    assert api.json()["error"]["fields"] == expected


async def test_a_stale_edit_over_the_socket_is_a_conflict():
    org_id, raw = await database_sync_to_async(setup)()
    record = await database_sync_to_async(
        lambda: WorkspaceRecord.objects.create(organization_id=org_id, title="Start")
    )()
    socket = await socket_for(raw)
    for frame_id, args in (("a", {"title": "First"}), ("b", {"body": "Second"})):
        await socket.send_json_to(
            {"type": "mutation", "id": frame_id, "name": "records.update",
             "args": {"record_id": record.pk, "version": 1, **args}}
        )  # fmt: skip
    first, second = await socket.receive_json_from(5), await socket.receive_json_from(5)
    assert (first["type"], first["value"]["version"]) == ("result", 2)
    assert (second["type"], second["code"]) == ("error", "conflict")
    await socket.disconnect()
    await database_sync_to_async(record.refresh_from_db)()
    assert (record.title, record.body) == ("First", "")
