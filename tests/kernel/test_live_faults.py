"""Live subscribers through infrastructure faults, against real servers the tests own:
a PostgreSQL restarted under an app server's subscribers, a Redis stopped and started
under two app servers. Nothing is mocked; the shared servers are not touched."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets
from django.test import Client

from kernel.permissions import Role
from tests.accounts.helpers import make_verified_user
from tests.factories import MembershipFactory
from tests.private_servers import private_postgres, private_redis
from tests.servers import app_server_process, database_address

pytestmark = pytest.mark.django_db(transaction=True)
CONVERGE_SECONDS = 30  # bounds a hang; convergence itself takes about a second


@dataclass
class Subscriber:
    """One socket with one subscription, recording every frame it receives."""

    socket: Any
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.socket:
                self.frames.append(json.loads(text))

    def titles(self) -> list[str] | None:
        results = [f for f in self.frames if f["type"] == "result"]
        return sorted(n["title"] for n in results[-1]["value"]) if results else None

    def states(self) -> list[str]:
        return [f["state"] for f in self.frames if f["type"] == "status"]

    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "error"]


def create_note(base: str, raw_key: str, title: str) -> None:
    """Through the app server's API, retrying while it answers 503 (database away)."""
    deadline = time.monotonic() + CONVERGE_SECONDS
    while True:
        request = urllib.request.Request(
            f"{base}/api/v1/test-notes",
            method="POST",
            data=json.dumps({"title": title}).encode(),
            headers={"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
                return
        except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError) as error:
            if getattr(error, "code", 503) != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + CONVERGE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


SEED = """
from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.factories import MembershipFactory
creator = MembershipFactory(role=Role.MEMBER)
_key, raw = api_key_issue(organization_id=creator.organization_id, name="faults",
                          permissions=["notes.read", "notes.write"],
                          created_by_id=creator.user_id)
print(raw)
"""


def test_subscribers_survive_postgresql_restarts_and_no_change_is_lost():
    if database_address() is None:
        pytest.skip("the embedded database is reached through a socket, not TCP")

    async def scenario(base: str, raw: str, restart: Any) -> list[Subscriber]:
        url = base.replace("http://", "ws://") + "/ws/"
        headers = {"Authorization": f"Bearer {raw}"}
        subscribers = []
        for n in range(6):
            socket = await websockets.connect(url, additional_headers=headers)
            args = {"contains": "o"} if n % 2 else {}  # two distinct runs, shared by three
            await socket.send(
                json.dumps({"type": "subscribe", "id": "s", "query": "notes.list", "args": args})
            )
            subscribers.append(Subscriber(socket))
        readers = [asyncio.ensure_future(s.read()) for s in subscribers]
        await until(lambda: all(s.titles() == [] for s in subscribers), "first values")

        written: list[str] = []
        for round_ in range(3):  # the test plan allows three notes
            title = f"note-{round_}-o"
            if round_ < 2:
                # A write, and the database gone right after its commit: the re-run it
                # causes meets a dead connection (the batch must be retried, not dropped).
                await asyncio.to_thread(create_note, base, raw, title)
                await asyncio.to_thread(restart)
            else:  # the first write after a restart reaches everyone
                await asyncio.to_thread(restart)
                await asyncio.to_thread(create_note, base, raw, title)
            written.append(title)
            expected = sorted(written)
            await until(
                lambda expected=expected: all(s.titles() == expected for s in subscribers),
                f"round {round_}: every subscriber shows {expected}",
            )
            await until(
                lambda: all(s.states()[-1:] == ["live"] for s in subscribers if s.states()),
                "live again",
            )
        for subscriber in subscribers:
            await subscriber.socket.close()
        await asyncio.gather(*readers)
        return subscribers

    with private_postgres() as postgres:
        raw = postgres.manage("shell", "-c", SEED).strip().splitlines()[-1]

        def restart() -> None:
            postgres.stop()
            time.sleep(0.5)
            postgres.start()

        with app_server_process(database_port=postgres.port) as (base, _):
            subscribers = asyncio.run(scenario(base, raw, restart))

    for subscriber in subscribers:
        assert subscriber.errors() == []  # no subscription ended
        assert "unavailable" in subscriber.states()  # told while the database was away
        assert subscriber.states()[-1] == "live"


def signed_in_cookie() -> str:
    user = make_verified_user("faults@example.com")
    MembershipFactory(user=user, role=Role.OWNER)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def sign_out(base: str, cookie: str) -> None:
    """As the browser does: the sign-out page's form, posted with its CSRF token."""
    with urllib.request.urlopen(
        urllib.request.Request(f"{base}/accounts/logout/", headers={"Cookie": cookie}), timeout=10
    ) as page:
        html = page.read().decode()
        csrf_cookie = re.search(r"csrftoken=([^;]+)", page.headers.get("Set-Cookie", ""))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    assert csrf_cookie
    request = urllib.request.Request(
        f"{base}/accounts/logout/",
        method="POST",
        data=f"csrfmiddlewaretoken={token.group(1)}".encode(),
        headers={
            "Cookie": f"{cookie}; csrftoken={csrf_cookie.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"{base}/accounts/logout/",
            "Origin": base,
        },
    )
    with contextlib.suppress(urllib.error.HTTPError):  # a redirect to the home page
        urllib.request.urlopen(request, timeout=10).close()


def test_a_redis_outage_refuses_no_socket_and_loses_no_sign_out():
    cookie = signed_in_cookie()

    async def open_socket(base: str) -> Subscriber:
        socket = await websockets.connect(
            base.replace("http://", "ws://") + "/ws/",
            additional_headers={"Cookie": cookie},
            origin=base,  # type: ignore[arg-type]
        )
        await socket.send(json.dumps({"type": "subscribe", "id": "m", "query": "members.list"}))
        return Subscriber(socket)

    async def scenario(server_a: str, server_b: str, redis: Any) -> Subscriber:
        await asyncio.to_thread(redis.stop)
        during = await open_socket(server_b)  # accepted and served while Redis is down
        reader = asyncio.ensure_future(during.read())
        await until(lambda: bool(during.frames), "a first frame")
        assert during.frames[0]["type"] == "result", during.frames
        await asyncio.to_thread(redis.start)
        await asyncio.to_thread(sign_out, server_a, cookie)  # right after recovery, on A
        await asyncio.wait_for(reader, 10)  # B closed the signed-out session's socket
        assert during.socket.close_code == 4001
        return during

    with (
        private_redis() as redis,
        app_server_process(REDIS_URL=redis.url) as (server_a, _),
        app_server_process(REDIS_URL=redis.url) as (server_b, _),
    ):
        asyncio.run(scenario(server_a, server_b, redis))
