"""One connection that hears every committed change (kernel/change_capture.py).

    listener = ChangeListener(changed, connected=..., lost=..., wanted=...)
    await listener.run()     # until `wanted()` is false after a pass

`changed(table, where)` is called for each change: `where` an organization id, or a
row's key for tables captured by row. `connected()` after every (re)connection: changes
may have been missed meanwhile, so whoever keeps derived state rebuilds it. `lost(error)`
when the connection broke; it reconnects with backoff. The live hub (kernel/live/hub.py)
and the principal cache (kernel/principal_cache.py) each run one.

LIVE_CHANGES=notify (default) LISTENs; LIVE_CHANGES=poll reads new `kernel_change` rows
every LIVE_POLL_MS instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import psycopg
from django.conf import settings

from kernel.change_capture import CHANNEL, database_conninfo, parse_notification

logger = logging.getLogger(__name__)

RETRY_SECONDS: Final = (0.05, 0.1, 0.25, 0.5, 1.0)
"""Backoff between attempts to reach a lost database: short, since subscribers are
waiting; capped at a second, so recovery is noticed within one."""


class ChangeListener:
    def __init__(
        self,
        changed: Callable[[str, int | str], None],
        *,
        connected: Callable[[], None],
        lost: Callable[[BaseException], Awaitable[None] | None],
        wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        self.changed = changed
        self.connected = connected
        self.lost = lost
        self.wanted = wanted

    async def run(self) -> None:
        attempt = 0
        while self.wanted() or attempt == 0:
            try:
                async with await psycopg.AsyncConnection.connect(
                    database_conninfo(), autocommit=True
                ) as listening:
                    if settings.LIVE_CHANGES == "poll":
                        await self._poll(listening)
                    else:
                        await listening.execute(f"LISTEN {CHANNEL}")
                        self.connected()
                        attempt = 1
                        async for notification in listening.notifies():
                            key = parse_notification(notification.payload)
                            if key is not None:
                                self.changed(*key)
            except Exception as error:  # whatever broke it, listen again: never go deaf
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                if isinstance(error, psycopg.OperationalError | OSError):
                    logger.warning("change listener lost (%s); reconnecting in %ss", error, delay)
                else:
                    logger.exception("change listener failed; reconnecting in %ss", delay)
                reported = self.lost(error)
                if reported is not None:
                    await reported
                attempt += 1
                await asyncio.sleep(delay)

    async def _poll(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Read new `kernel_change` rows every LIVE_POLL_MS.

        Row ids do not arrive in commit order (a transaction that began earlier can commit
        later), so progress is tracked by transaction id: every transaction older than
        the oldest one still running (the snapshot's xmin) is over, so rows at or above
        the previous xmin are read again and de-duplicated by id."""
        horizon, seen = await _read_changes(connection, horizon=None)
        self.connected()
        while True:
            await asyncio.sleep(settings.LIVE_POLL_MS / 1000)
            rows: list[tuple[int, str, int | str]] = []
            horizon, covered = await _read_changes(connection, horizon, rows)
            for row_id, table, where in rows:
                if row_id not in seen:  # read last time already
                    self.changed(table, where)
            seen = covered


async def _read_changes(
    connection: psycopg.AsyncConnection[Any],
    horizon: int | None,
    rows: list[tuple[int, str, int | str]] | None = None,
) -> tuple[int, set[int]]:
    """Rows of transactions at or above `horizon` (all of them the first time), into
    `rows`; the new horizon, and the ids read that it still covers."""
    cursor = await connection.execute(
        "SELECT s.xmin, c.id, c.xid, c.table_name, c.organization_id, c.row_key "
        "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) s "
        "LEFT JOIN kernel_change c ON c.xid >= COALESCE(%s, s.xmin) ORDER BY c.id",
        [horizon],
    )
    found = await cursor.fetchall()
    xmin = int(found[0][0])
    still_covered = set()
    for _, row_id, xid, table, organization, row_key in found:
        if row_id is None:
            continue
        if rows is not None:
            rows.append((row_id, table, row_key if row_key is not None else organization))
        if xid >= xmin:
            still_covered.add(row_id)
    return xmin, still_covered
