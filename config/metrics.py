"""/metrics, in Prometheus' text format (prometheus-client), behind `METRICS_TOKEN`.

    http_requests_total{method, route, status}        counter
    http_request_duration_seconds{method, route}      histogram
    live_sockets, live_subscriptions                  gauges: this process's WebSockets
    tasks_ready, tasks_oldest_ready_age_seconds       gauges: the queue's backlog
    tasks_failed                                      gauge: tasks failed for good

`route` is the URL pattern's name (`api-v1:notes_get`, `account_login`), never the raw
path, so the number of series stays bounded whatever clients ask for.

Processes: gunicorn runs several workers, each counting its own requests. With
`PROMETHEUS_MULTIPROC_DIR` set (an empty directory, per server, emptied at each start),
prometheus-client keeps each worker's counts in files there and a scrape of any worker
sums them. The live gauges are read at scrape time from the process that answers: daphne
serves the sockets, so scrape each daphne process itself. The queue's gauges are read
from PostgreSQL at scrape time, the same from every process.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any, Final

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from config import health
from kernel.actors import bearer_token
from kernel.live.hub import subscription_count

logger = logging.getLogger(__name__)

METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS: Final = Counter("http_requests", "HTTP requests answered.", ["method", "route", "status"])
LATENCY: Final = Histogram(
    "http_request_duration_seconds",
    "Time to answer HTTP requests, from the first middleware to the response.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"  # clients may send any word
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


class _OpenSockets:
    count = 0


SOCKETS: Final = _OpenSockets()


class CountSockets:
    """ASGI middleware counting the WebSocket connections open in this process."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        SOCKETS.count += 1
        try:
            return await self.inner(scope, receive, send)  # returns when the socket is gone
        finally:
            SOCKETS.count -= 1


class LiveCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "live_sockets", "WebSocket connections open in this process.", SOCKETS.count
        )
        yield GaugeMetricFamily(
            "live_subscriptions",
            "Live query subscriptions kept current by this process.",
            subscription_count(),
        )


class TaskQueueCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        """Registering asks what a collector yields: say it without a query."""
        for name in ("tasks_ready", "tasks_oldest_ready_age_seconds", "tasks_failed"):
            yield GaugeMetricFamily(name, "")

    def collect(self) -> Iterator[Metric]:
        try:
            backlog = health.task_backlog()
            failed = health.failed_tasks()
        except DatabaseError as error:  # the scrape still reports the rest
            logger.warning("Metrics: the task queue could not be read: %s", error)
            return
        yield GaugeMetricFamily(
            "tasks_ready", "Tasks ready to run, waiting for a worker.", backlog.ready
        )
        yield GaugeMetricFamily(
            "tasks_oldest_ready_age_seconds",
            "How long the longest-waiting ready task has waited.",
            backlog.oldest_seconds,
        )
        yield GaugeMetricFamily("tasks_failed", "Tasks that failed for good.", failed)


_SCRAPED: Final = (LiveCollector(), TaskQueueCollector())


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


if not _multiprocess():
    for _collector in _SCRAPED:
        REGISTRY.register(_collector)


def _registry() -> CollectorRegistry:
    if not _multiprocess():
        return REGISTRY  # with the process's own CPU, memory and garbage collector
    registry = CollectorRegistry()  # per scrape, as prometheus-client's docs say
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
    for collector in _SCRAPED:
        registry.register(collector)
    return registry


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Without METRICS_TOKEN there is nothing here (404). With it, `Authorization:
    Bearer <token>` is required; a missing or wrong one is refused without a word."""
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404
    supplied = bearer_token(request.headers.get("Authorization", ""))
    if supplied is None:
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        return HttpResponse(status=403)
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
