"""A changed display name reaches the members list people have open (the user table is
captured by row: kernel/change_capture.py)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from kernel.permissions import Role
from tests.accounts.helpers import login, make_verified_user
from tests.config.test_live_sessions import browser_socket
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stop_hub")]


async def test_a_new_display_name_is_pushed_to_the_members_list():
    def setup() -> tuple[Client, Client]:
        org = OrganizationFactory()
        viewer = make_verified_user("viewer@example.com")
        renamer = make_verified_user("renamer@example.com")
        MembershipFactory(organization=org, user=viewer, role=Role.VIEWER)
        MembershipFactory(organization=org, user=renamer, role=Role.MEMBER)
        watching, renaming = Client(), Client()
        login(watching, viewer.email)
        login(renaming, renamer.email)
        return watching, renaming

    watching, renaming = await database_sync_to_async(setup)()
    socket = await browser_socket(watching)
    await socket.send_json_to({"type": "subscribe", "id": "m", "query": "members.list"})
    first = await socket.receive_json_from(timeout=5)
    names = {m["user"]["email"]: m["user"]["name"] for m in first["value"]}
    assert names["renamer@example.com"] == "renamer@example.com"  # no display name yet

    response = await database_sync_to_async(renaming.post)(
        "/account/profile/",
        {"display_name": "Rena Mer", "time_zone": "UTC", "language": "en"},
    )
    assert response.status_code == 302
    pushed = await socket.receive_json_from(timeout=10)
    names = {m["user"]["email"]: m["user"]["name"] for m in pushed["value"]}
    assert names["renamer@example.com"] == "Rena Mer"
    assert {m["user"]["initials"] for m in pushed["value"]} >= {"RM"}
    await socket.disconnect()
