"""Logs, /healthz and /metrics in the test process: request ids, one line per request with
who made it, the health of PostgreSQL, Redis (a private server, killed) and the task
queue, and the metrics' token and counts. Real server processes:
test_observability_servers.py."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.tasks import task
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families

from config.logging import JsonFormatter, PlainFormatter, RequestLoggedOnce
from config.sentry import tag_with_context
from kernel.logcontext import current_fields, log_context
from kernel.permissions import Role
from organizations.models import ApiKey
from tests.conftest import bearer
from tests.private_servers import private_redis

TOKEN = "scrape-token-0123456789"


@task()
def noop() -> None:
    """Enqueued to fill the queue; never run here."""


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Everything the configured handler writes during the test, in the JSON format."""
    root = logging.getLogger()
    (console,) = [h for h in root.handlers if h.name == "console"]
    assert isinstance(console, logging.StreamHandler)
    stream, formatter, level = io.StringIO(), console.formatter, root.level
    previous = console.setStream(stream)
    console.setFormatter(JsonFormatter())
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    console.setStream(previous)
    console.setFormatter(formatter)
    root.setLevel(level)


def request_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "request"]


# --- request ids and log lines --------------------------------------------------------------


def test_a_sane_request_id_is_kept_and_echoed(client: Client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a-42c1-9e")
    assert response["X-Request-ID"] == "lb-7f3a-42c1-9e"


@pytest.mark.parametrize("offered", ["", "short", "two words here", "x" * 129, 'a"b\nFAKE line'])
def test_an_insane_request_id_is_replaced(client: Client, db, offered: str):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=offered)
    assert response["X-Request-ID"] != offered
    assert len(response["X-Request-ID"]) == 32
    int(response["X-Request-ID"], 16)


def test_each_request_is_one_line_with_who_made_it(client: Client, make_key, org, json_lines):
    raw = make_key(Role.ADMIN)

    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="req-0001-abcd", **bearer(raw))
    client.get("/no/such/page")

    assert response.status_code == 200
    me, missing = request_lines(json_lines())
    assert me["message"].startswith("GET /api/v1/me 200 ")
    assert me["level"] == "info"
    assert me["request_id"] == "req-0001-abcd"
    assert me["organization_id"] == org.pk
    key = ApiKey.objects.unscoped().get()
    assert (me["user_id"], me["api_key_id"]) == (key.created_by_id, key.pk)  # the key's creator
    assert (me["method"], me["path"], me["route"], me["status"]) == (
        "GET",
        "/api/v1/me",
        "api-v1:me_get",
        200,
    )
    assert me["duration_ms"] >= 0
    assert {"time", "level", "logger", "message"} <= me.keys()
    # Nobody was signed in: no ids but the request's; and Django's 404 warning is gone.
    assert missing["status"] == 404
    assert missing["route"] == "unmatched"
    assert "user_id" not in missing
    assert "organization_id" not in missing
    assert [line for line in json_lines() if line["logger"] == "django.request"] == []


def test_lines_logged_inside_a_request_carry_its_ids(client: Client, member, org, json_lines):
    membership = member(Role.OWNER)
    client.force_login(membership.user)

    # The API's unhandled-error path logs the error, inside the request.
    response = client.post(
        "/api/v1/test-notes/fail", {"title": "x"}, content_type="application/json"
    )

    assert response.status_code == 500
    lines = json_lines()
    error = next(line for line in lines if line["message"] == "Unhandled error")
    request = request_lines(lines)[0]
    assert error["level"] == "error"
    assert "RuntimeError: failed after the write" in error["exception"]
    assert error["request_id"] == request["request_id"] == response["X-Request-ID"]
    assert error["user_id"] == request["user_id"] == membership.user_id
    assert error["organization_id"] == request["organization_id"] == org.pk
    assert request["level"] == "warning"  # a 5xx; the error line is what Sentry reports


def test_a_signed_in_page_names_its_user_without_an_organization(client: Client, db, json_lines):
    from tests.accounts.helpers import make_verified_user

    user = make_verified_user("solo@example.com")
    client.force_login(user)
    client.get("/account/profile/")
    (line,) = request_lines(json_lines())
    assert line["user_id"] == user.pk


def test_the_context_of_a_task_and_its_nesting():
    logger = logging.getLogger("tests.observability")
    record_of: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record_of.append(record)
            self.formatted = JsonFormatter().format(record), PlainFormatter().format(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        with log_context(task="send_invitation", task_id="abc"):
            with log_context(organization_id=7, user_id=lambda: None):
                logger.warning("sent to %s", "ada", extra={"attempt": 2, "obj": object()})
                assert current_fields() == {
                    "task": "send_invitation",
                    "task_id": "abc",
                    "organization_id": 7,
                }
            assert current_fields() == {"task": "send_invitation", "task_id": "abc"}
        assert current_fields() == {}
    finally:
        logger.removeHandler(handler)
    as_json, as_plain = handler.formatted
    line = json.loads(as_json)
    assert line["message"] == "sent to ada"
    assert (line["task"], line["task_id"], line["organization_id"], line["attempt"]) == (
        "send_invitation",
        "abc",
        7,
        2,
    )
    assert "obj" not in line
    assert "user_id" not in line
    assert as_plain.endswith(
        "WARNING tests.observability sent to ada task=send_invitation task_id=abc organization_id=7"
    )


def test_a_failing_context_value_never_fails_the_line():
    def broken() -> int:
        raise RuntimeError("no")

    with log_context(user_id=broken, request_id="r-1"):
        assert current_fields() == {"request_id": "r-1"}


@pytest.mark.parametrize(
    ("name", "args", "extra", "kept"),
    [
        ("django.channels.server", {"method": "GET", "path": "/", "status": 200}, {}, False),
        ("django.channels.server", {"path": "/ws/", "client": "1.2.3.4"}, {}, True),
        ("django.server", None, {"status_code": 200}, False),
        ("django.request", None, {"status_code": 404}, False),
        ("django.request", None, {"status_code": 500}, True),
        ("django.security.csrf", None, {"status_code": 403}, True),
    ],
)
def test_only_the_development_servers_duplicates_are_dropped(name, args, extra, kept):
    record = logging.LogRecord(name, logging.INFO, "", 0, "line", None, None)
    record.args = args
    record.__dict__.update(extra)
    assert RequestLoggedOnce().filter(record) is kept


def test_sentry_events_are_tagged_with_the_context():
    with log_context(request_id="r-9", organization_id=3, user_id=lambda: 11):
        event = tag_with_context({"tags": {"route": "x"}}, {})
    assert event["tags"] == {
        "route": "x",
        "request_id": "r-9",
        "organization_id": "3",
        "user_id": "11",
    }


# --- /healthz ------------------------------------------------------------------------------------


def test_healthz_reports_the_task_backlog(client: Client, db):
    assert client.get("/healthz").json()["tasks"] == {"ready": 0, "oldest_ready_seconds": 0.0}

    noop.enqueue()
    waiting = noop.enqueue()
    DBTaskResult.objects.filter(pk=waiting.id).update(
        enqueued_at=timezone.now() - timedelta(minutes=5)
    )
    later = noop.using(run_after=timezone.now() + timedelta(hours=1)).enqueue()  # not ready yet
    # A retry whose backoff ended two minutes ago waits since then, not since it was enqueued.
    DBTaskResult.objects.filter(pk=later.id).update(
        enqueued_at=timezone.now() - timedelta(hours=2),
        run_after=timezone.now() - timedelta(minutes=2),
    )
    DBTaskResult.objects.create(  # done: not waiting
        task_path=noop.module_path, args_kwargs={"args": [], "kwargs": {}}, backend_name="default",
        run_after=timezone.now() - timedelta(days=1), status="SUCCESSFUL",
    )  # fmt: skip

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["tasks"]["ready"] == 3
    assert 300 <= body["tasks"]["oldest_ready_seconds"] < 360


def test_healthz_fails_when_the_configured_redis_is_down(client: Client, db, settings):
    with private_redis() as redis:
        settings.REDIS_URL = redis.url
        healthy = client.get("/healthz")
        redis.stop()
        down = client.get("/healthz")

    assert healthy.status_code == 200
    assert healthy.json()["redis"] == "ok"
    assert healthy.json()["redis_ms"] >= 0
    assert down.status_code == 503
    assert down.json() == {
        "status": "error",
        "database": "ok",
        "database_ms": down.json()["database_ms"],
        "tasks": {"ready": 0, "oldest_ready_seconds": 0.0},
        "redis": "unreachable",
    }


def test_healthz_says_nothing_of_redis_without_it(client: Client, db, settings):
    settings.REDIS_URL = ""
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert "redis" not in body


# --- /metrics ------------------------------------------------------------------------------------


def scrape(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def requests_counted(samples: dict, method: str, route: str, status: str) -> float:
    labels = frozenset({"method": method, "route": route, "status": status}.items())
    return samples.get(("http_requests_total", labels), 0.0)


def test_metrics_are_not_there_without_a_token(client: Client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token_without_a_word(client: Client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    other_scheme = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert (missing.status_code, wrong.status_code, other_scheme.status_code) == (401, 403, 401)
    assert missing.content == wrong.content == b""
    assert missing["WWW-Authenticate"] == "Bearer"


def test_an_owners_session_or_api_key_is_no_token(client: Client, member, make_key, settings):
    settings.METRICS_TOKEN = TOKEN
    raw = make_key(Role.OWNER)
    assert Client().get("/metrics", **bearer(raw)).status_code == 403
    client.force_login(member(Role.OWNER).user)
    assert client.get("/metrics").status_code == 401


def test_request_counts_and_latencies_move(client: Client, make_key, settings):
    settings.METRICS_TOKEN = TOKEN
    raw = make_key(Role.ADMIN)
    before = scrape(client)

    client.get("/healthz")
    client.get("/healthz")
    client.get(f"/api/v1/test-notes/{10**6}", **bearer(raw))  # not found
    client.generic("BREW", "/healthz")  # any word a client sends is "other"

    after = scrape(client)
    moved = {
        labels: requests_counted(after, *labels) - requests_counted(before, *labels)
        for labels in [
            ("GET", "healthz", "200"),
            ("GET", "api-v1:notes_get", "404"),
            ("other", "healthz", "405"),
        ]
    }
    assert moved == {
        ("GET", "healthz", "200"): 2,
        ("GET", "api-v1:notes_get", "404"): 1,
        ("other", "healthz", "405"): 1,
    }
    latency = frozenset({"method": "GET", "route": "healthz"}.items())
    count = "http_request_duration_seconds_count"
    assert after[(count, latency)] - before.get((count, latency), 0) == 2
    assert not any("/api/v1/test-notes/" in str(labels) for _name, labels in after)


def test_metrics_report_the_queue_and_this_processs_sockets(client: Client, db, settings):
    settings.METRICS_TOKEN = TOKEN
    noop.enqueue()
    failed = noop.enqueue()
    DBTaskResult.objects.filter(pk=failed.id).update(status="FAILED")

    samples = scrape(client)

    assert samples[("tasks_ready", frozenset())] == 1
    assert samples[("tasks_failed", frozenset())] == 1
    assert samples[("tasks_oldest_ready_age_seconds", frozenset())] >= 0
    assert samples[("live_sockets", frozenset())] == 0  # no socket in this process
    assert samples[("live_subscriptions", frozenset())] == 0


# --- configuration -----------------------------------------------------------------------


def test_malformed_observability_variables_are_check_errors_naming_them(tmp_path):
    from tests.config.test_settings import run_manage

    result = run_manage(
        "check",
        DEBUG="true",
        LOG_FORMAT="xml",
        SENTRY_DSN="not-a-dsn",
        SENTRY_TRACES_SAMPLE_RATE="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing"),
    )

    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not one of plain, json." in result.stderr
    assert "SENTRY_DSN cannot be used" in result.stderr
    assert "SENTRY_TRACES_SAMPLE_RATE='2' is not a number from 0 to 1." in result.stderr
    assert "PROMETHEUS_MULTIPROC_DIR=" in result.stderr
    assert result.stderr.count("config.E001") == 4


# --- tasks ---------------------------------------------------------------------------------


@task()
def log_something(what: str) -> None:
    logging.getLogger("tests.observability").info("working on %s", what)


def test_lines_a_task_logs_name_the_task(db, json_lines):
    from tests.tasks import run_tasks

    result = log_something.enqueue("the report")
    run_tasks()

    (line,) = [line for line in json_lines() if line["logger"] == "tests.observability"]
    assert line["message"] == "working on the report"
    assert line["task"] == log_something.module_path
    assert line["task_id"] == str(result.id)
    assert "request_id" not in line
