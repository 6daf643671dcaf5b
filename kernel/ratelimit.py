"""Fixed-window rate limits shared by every process.

With REDIS_URL: one round trip per hit (INCR + EXPIRE in a pipeline). Without it (a
single development process): Django's local cache.
"""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.core.cache import cache

from kernel import errors


@functools.cache
def _redis():  # type: ignore[no-untyped-def]  # redis-py's client is untyped here
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _count(key: str, window_seconds: int) -> int:
    if settings.REDIS_URL:
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, window_seconds + 1, nx=True)
        count, _ = pipeline.execute()
        return int(count)
    cache.add(key, 0, timeout=window_seconds + 1)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds + 1)
        return 1


def enforce(bucket: str, *, limit: int, window_seconds: int, message: str | None = None) -> None:
    """Count one hit in `bucket`; raise `rate_limited` (with Retry-After) past `limit`."""
    now = int(time.time())
    window = now // window_seconds
    if _count(f"ratelimit:{bucket}:{window}", window_seconds) > limit:
        retry_after = (window + 1) * window_seconds - now
        raise errors.rate_limited(retry_after, message)
