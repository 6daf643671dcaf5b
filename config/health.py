"""What /healthz and /metrics read: the database, Redis and the task queue, each in one
cheap round trip (load balancers probe often)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, F, Min, When
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

REDIS_TIMEOUT_SECONDS = 1.0
"""A probe must answer quickly when Redis does not: it is down then."""


def database_milliseconds() -> float:
    """Round-trip time of `SELECT 1`; raises DatabaseError when PostgreSQL is away."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return round((time.perf_counter() - started) * 1000, 2)


@cache
def _redis(url: str) -> redis.Redis:
    """One client (and connection pool) per process and URL."""
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


def redis_milliseconds() -> float:
    """Round-trip time of PING; raises redis.RedisError when Redis is away."""
    started = time.perf_counter()
    _redis(settings.REDIS_URL).ping()
    return round((time.perf_counter() - started) * 1000, 2)


@dataclass(frozen=True)
class Backlog:
    ready: int
    """Tasks that may run now and wait for a worker."""
    oldest_seconds: float
    """How long the longest-waiting of them has been waiting (0 when none is)."""


def task_backlog() -> Backlog:
    """One query on the queue's partial index of ready rows. A task waits from when it
    became runnable: its `run_after` (a retry's backoff, a scheduled run), else when it
    was enqueued."""
    never = get_date_max()  # django-tasks-db's "no run_after"
    found = DBTaskResult.objects.ready().aggregate(
        ready=Count("pk"),
        since=Min(Case(When(run_after=never, then=F("enqueued_at")), default=F("run_after"))),
    )
    since: datetime | None = found["since"]
    waited = (timezone.now() - since).total_seconds() if since is not None else 0.0
    return Backlog(found["ready"], round(max(waited, 0.0), 3))


def failed_tasks() -> int:
    """Tasks failed for good: every attempt used (kernel/tasks.py), kept for the admin."""
    return DBTaskResult.objects.failed().count()
