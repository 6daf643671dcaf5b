"""Fixed-window counters in the shared cache (Redis when REDIS_URL is set)."""

from __future__ import annotations

import time

from django.core.cache import cache

from kernel import errors


def enforce(bucket: str, *, limit: int, window_seconds: int) -> None:
    """Count one hit in `bucket`; raise `rate_limited` (with Retry-After) past `limit`."""
    now = int(time.time())
    window = now // window_seconds
    key = f"ratelimit:{bucket}:{window}"
    cache.add(key, 0, timeout=window_seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds + 1)
        count = 1
    if count > limit:
        retry_after = (window + 1) * window_seconds - now
        raise errors.rate_limited(retry_after, "Too many requests for this API key. Slow down.")
