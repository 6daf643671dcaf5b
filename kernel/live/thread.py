"""The hub's own thread for database work, with its connection kept open.

    reads = DatabaseThread()
    value = await reads.run(evaluate, batch)
    await reads.aclose()

Channels' `database_sync_to_async` runs every consumer's sync code in one shared thread
and closes the connection after each call (the pool's CONN_MAX_AGE = 0). For the hub
that meant waiting behind any socket's mutation (one waiting for its organization's
plan-limit lock could hold re-runs for seconds), and a pool check-out, session set-up
and return on every re-run: a quarter of one subscriber's commit-to-screen time. One
thread of its own keeps one pooled connection checked out while the hub lives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.db import connection


class DatabaseThread:
    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    async def run[T](self, work: Callable[..., T], *args: object) -> T:
        if self._executor is None:  # started on first use, and again after aclose()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-hub")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(_checked, work, *args))

    async def aclose(self) -> None:
        """Return the connection to the pool, then end the thread."""
        if self._executor is None:
            return
        try:
            await self.run(_close)
        finally:
            self._executor.shutdown(wait=False)
            self._executor = None


def _checked[T](work: Callable[..., T], *args: object) -> T:
    # What close_old_connections does, except closing by age: a connection that failed
    # and no longer answers is replaced; a healthy one is kept.
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()
    return work(*args)


def _close() -> None:
    connection.close()  # looked up here, in the thread: its own connection
