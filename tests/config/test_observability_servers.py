"""Observability of real server processes (runserver, as `make run` starts it): a request
logged once, JSON lines with the request's ids, an unhandled error reaching a Sentry
ingest endpoint (a local HTTP server: Sentry is a third-party API), the socket and
subscription gauges of the ASGI process, and /healthz while its PostgreSQL is down."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from kernel.permissions import Role
from tests.private_servers import private_postgres
from tests.servers import app_server_process, database_address

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "scrape-token-0123456789"


def get(url: str, **headers: str) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def post_json(url: str, body: object, **headers: str) -> tuple[int, Message]:
    request = urllib.request.Request(
        url,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def gauges(base: str) -> dict[str, float]:
    status, _headers, body = get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200
    return {
        family.name: family.samples[0].value
        for family in text_string_to_metric_families(body.decode())
        if family.type == "gauge" and family.samples
    }


def until(condition: Any, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_the_development_server_logs_each_request_once_and_counts_its_sockets(
    make_key, tmp_path: Path
):
    raw = make_key(Role.ADMIN)
    log = tmp_path / "server.log"

    async def subscribed(base: str) -> dict[str, float]:
        url = base.replace("http://", "ws://") + "/ws/"
        async with websockets.connect(
            url, additional_headers={"Authorization": f"Bearer {raw}"}
        ) as socket:
            await socket.send(json.dumps({"type": "subscribe", "id": "n", "query": "notes.list"}))
            frame = json.loads(await asyncio.wait_for(socket.recv(), 20))
            assert frame["type"] == "result"
            return await asyncio.to_thread(gauges, base)

    with (
        log.open("wb") as output,
        app_server_process(stderr=output, LOG_LEVEL="info", METRICS_TOKEN=TOKEN) as (base, _),
    ):
        assert get(f"{base}/no-such-page-once")[0] == 404
        assert get(f"{base}/api/v1/no-such-route-once")[0] == 404
        assert get(f"{base}/healthz", **{"X-Request-ID": "probe-once-1234"})[0] == 200
        idle = gauges(base)
        during = asyncio.run(subscribed(base))
        until(lambda: gauges(base)["live_sockets"] == 0, "the closed socket is no longer counted")
        after = gauges(base)

    assert (idle["live_sockets"], idle["live_subscriptions"]) == (0, 0)
    assert (during["live_sockets"], during["live_subscriptions"]) == (1, 1)
    assert after["live_subscriptions"] == 0
    lines = log.read_text().splitlines()
    for marker in ("/no-such-page-once", "/api/v1/no-such-route-once", "probe-once-1234"):
        assert len([line for line in lines if marker in line]) == 1, (marker, lines)
    (page,) = [line for line in lines if "/no-such-page-once" in line]
    assert " INFO request GET /no-such-page-once 404 " in page
    assert "request_id=" in page
    assert any("WebSocket CONNECT /ws/" in line for line in lines)  # sockets keep theirs


def envelope_items(body: bytes, encoding: str) -> list[tuple[dict[str, Any], Any]]:
    """A Sentry envelope: a header line, then each item's header line and payload."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    lines = body.split(b"\n")
    items = []
    for header, payload in zip(lines[1::2], lines[2::2], strict=False):
        if header.strip():
            items.append((json.loads(header), json.loads(payload) if payload.strip() else None))
    return items


def test_json_logs_and_sentry_name_the_request_of_an_unhandled_error(
    make_key, org, httpserver: HTTPServer, tmp_path: Path
):
    from organizations.models import ApiKey

    raw = make_key(Role.ADMIN)
    key = ApiKey.objects.unscoped().get()
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_data("{}")
    dsn = f"http://public0123456789@127.0.0.1:{httpserver.port}/1"
    log = tmp_path / "server.log"

    def events() -> list[dict[str, Any]]:
        return [
            payload
            for request, _response in httpserver.log
            for header, payload in envelope_items(
                request.get_data(), request.headers.get("Content-Encoding", "")
            )
            if header.get("type") == "event"
        ]

    with (
        log.open("wb") as output,
        app_server_process(
            stderr=output,
            LOG_LEVEL="info",
            LOG_FORMAT="json",
            SENTRY_DSN=dsn,
            SENTRY_ENVIRONMENT="ci",
        ) as (base, _),
    ):
        status, headers = post_json(
            f"{base}/api/v1/test-notes/fail",
            {"title": "boom"},
            Authorization=f"Bearer {raw}",
            **{"X-Request-ID": "client-req-000001"},
        )
        until(lambda: bool(events()), "Sentry received the error", seconds=30)

    assert status == 500
    assert headers["X-Request-ID"] == "client-req-000001"
    (event,) = events()
    assert event["environment"] == "ci"
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "failed after the write")
    assert {
        name: event["tags"].get(name) for name in ("request_id", "organization_id", "user_id")
    } == {
        "request_id": "client-req-000001",
        "organization_id": str(org.pk),
        "user_id": str(key.created_by_id),
    }
    # No personal data: not the caller's key, address, cookies or the creator's email.
    sent = json.dumps(events())
    assert raw not in sent
    assert key.created_by is not None
    assert key.created_by.email not in sent
    assert "boom" not in sent  # the request's body, or a frame's variables
    assert "user" not in event

    # Every line is one JSON object; the request's lines carry its ids.
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    ours = [line for line in lines if line.get("request_id") == "client-req-000001"]
    assert [line["logger"] for line in ours] == ["kernel.rendering", "request"]
    error, request = ours
    assert error["level"] == "error"
    assert "RuntimeError: failed after the write" in error["exception"]
    assert error["organization_id"] == request["organization_id"] == org.pk
    assert error["user_id"] == request["user_id"] == key.created_by_id
    assert (request["status"], request["route"]) == (500, "api-v1:notes_fail_after_write")


def test_healthz_answers_503_while_postgresql_is_down_and_200_once_back():
    if database_address() is None:
        pytest.skip("the embedded database is reached through a socket, not TCP")
    with (
        private_postgres() as postgres,
        app_server_process(
            database_port=postgres.port, DATABASE_POOL_TIMEOUT="2", REDIS_URL=""
        ) as (base, _),
    ):
        assert get(f"{base}/healthz")[0] == 200
        postgres.stop()
        started = time.monotonic()
        status, _headers, body = get(f"{base}/healthz")
        answered_in = time.monotonic() - started
        postgres.start()
        until(lambda: get(f"{base}/healthz")[0] == 200, "healthy again", seconds=30)

    assert status == 503
    assert json.loads(body) == {"status": "error", "database": "unreachable", "tasks": None}
    assert answered_in < 10


def test_gunicorn_workers_add_up_their_counts_in_multiprocess_mode(tmp_path: Path):
    """Each of the workers counts what it answered; any of them answers a scrape with
    the sum, through PROMETHEUS_MULTIPROC_DIR."""
    from tests.servers import APP_NAME, ROOT, _database_url, _wait_for_sessions_to_end, free_port

    counts = tmp_path / "metrics"
    counts.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}", "config.wsgi"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": _database_url(),
            "LOG_LEVEL": "warning",
            "METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(counts),
            "PGAPPNAME": APP_NAME,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(lambda: _answers(f"{base}/healthz"), "gunicorn serves", seconds=60)
        before = healthz_count(base)
        sent = 0
        # A new connection each, until at least two workers have answered some (which
        # worker accepts is up to the kernel: on a busy machine one may take dozens).
        while sent < 30 or (len(list(counts.glob("counter_*.db"))) < 2 and sent < 1000):
            assert get(f"{base}/healthz")[0] == 200
            sent += 1
        scrapes = {healthz_count(base) for _ in range(9)}
    finally:
        server.terminate()
        server.wait(20)
        _wait_for_sessions_to_end()

    assert scrapes == {before + sent}, "every worker reports the same sum"
    assert len(list(counts.glob("counter_*.db"))) > 1, "more than one worker counted"


def _answers(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:
        return False


def healthz_count(base: str) -> float:
    status, _headers, body = get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "healthz",
                "status": "200",
            }:
                return sample.value
    return 0.0
