"""The /ws/ endpoint through the real ASGI application (origin check, auth, frames)."""

from __future__ import annotations

import json

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from kernel.consumers import MAX_FRAME_CHARS

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost:8000")
HOST = (b"host", b"localhost:8000")


async def connect(headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers or [HOST, ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def exchange(communicator: WebsocketCommunicator, frame: str) -> dict:
    await communicator.send_to(text_data=frame)
    return json.loads(await communicator.receive_from())


async def test_ping_pong():
    communicator = await connect()
    assert await exchange(communicator, '{"type": "ping", "id": 1}') == {"type": "pong", "id": 1}
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("http://127.0.0.1:8102", True),
        ("HTTP://127.0.0.1:8102", True),
        ("https://127.0.0.1:8102", False),  # another scheme of the same host: same site
        ("http://127.0.0.1:9999", False),  # another port: same site, cookies still sent
        ("http://127.0.0.1", False),
        ("http://127.0.0.1:8102.evil.example", False),
        ("null", False),
        ("https://app.example.com", True),  # CSRF_TRUSTED_ORIGINS
        ("https://eu.tenants.example.com", True),  # a trusted wildcard
        ("http://eu.tenants.example.com", False),
    ],
)
async def test_the_origin_must_match_scheme_host_and_port(settings, origin, accepted):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.tenants.example.com"]
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[(b"host", b"127.0.0.1:8102"), (b"origin", origin.encode())],
    )
    connected, _ = await communicator.connect()
    assert connected is accepted
    if connected:
        await communicator.disconnect()


async def test_behind_a_tls_proxy_the_forwarded_scheme_counts(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    base = [(b"host", b"app.example.com"), (b"x-forwarded-proto", b"https")]
    good = WebsocketCommunicator(
        application, "/ws/", headers=[*base, (b"origin", b"https://app.example.com")]
    )
    assert (await good.connect())[0]
    await good.disconnect()
    plain = WebsocketCommunicator(
        application, "/ws/", headers=[*base, (b"origin", b"http://app.example.com")]
    )
    assert not (await plain.connect())[0]


@pytest.mark.parametrize(
    ("frame", "code", "frame_id"),
    [
        ("not json", "invalid_input", None),
        ("[1, 2]", "invalid_input", None),
        ('{"type": "ping"}', "invalid_input", None),
        ('{"type": "dance", "id": "a"}', "invalid_input", "a"),
        (
            '{"type": "subscribe", "id": "s1", "query": "secret.things", "args": {}}',
            "not_found",
            "s1",
        ),
    ],
)
async def test_bad_frames_get_error_frames_and_the_socket_stays_open(frame, code, frame_id):
    communicator = await connect()

    reply = await exchange(communicator, frame)

    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["id"] == frame_id
    assert set(reply) == {"type", "id", "code", "message", "fields"}
    assert await exchange(communicator, '{"type": "ping", "id": 2}') == {"type": "pong", "id": 2}
    await communicator.disconnect()


async def test_a_huge_frame_is_refused_and_closes_the_socket():
    communicator = await connect()
    await communicator.send_to(text_data="x" * (MAX_FRAME_CHARS + 1))
    reply = json.loads(await communicator.receive_from())
    assert reply["code"] == "invalid_input"
    closed = await communicator.receive_output()
    assert closed == {"type": "websocket.close", "code": 1009}
