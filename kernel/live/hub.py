"""The per-process hub: subscriptions, and one LISTEN connection that re-runs them.

Each app process LISTENs to PostgreSQL itself, so a change committed through any process
(or the admin, a shell, raw SQL) reaches subscribers in every process. Notifications that
arrive together are coalesced; a subscription is re-run once per burst, with its actor
re-checked first (a removed member's subscription ends with `forbidden`), and its value
is pushed only if it changed. After the listener reconnects, every subscription re-runs
once, since notifications may have been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, transaction

from kernel import door, errors
from kernel.actor import Actor
from kernel.actors import recheck
from kernel.change_capture import CHANNEL, database_conninfo, prune_changes
from kernel.errors import AppError
from kernel.functions import Function
from kernel.inputs import Input
from kernel.rendering import as_app_error

logger = logging.getLogger(__name__)

RECONNECT_SECONDS: Final = (0.5, 1, 2, 5)
PRUNE_EVERY_SECONDS: Final = 300
MAX_VALUE_BYTES: Final = 1024 * 1024 - 1024
"""daphne refuses frames over 1 MiB; leave room for the frame's envelope."""

Send = Callable[[str], Awaitable[None]]
"""Sends one text frame to the subscriber's socket."""


@dataclass(eq=False)
class Subscription:
    subscription_id: str | int
    query: Function
    args: Input
    """Validated once, when it subscribed."""
    actor: Actor
    source: dict[str, Any]
    """The connection's scope: the actor is resolved from it again before each re-run."""
    send: Send
    last: str | None = None
    """The last value sent, as JSON text."""
    credential: Hashable = field(init=False)
    """What the actor is resolved from (`_credential_of`): re-checked once per batch."""
    args_key: str = field(init=False)
    """The arguments as canonical JSON: with the query and access, what runs are shared by."""

    def __post_init__(self) -> None:
        # Computed once here rather than for every subscriber of every re-run.
        self.credential = _credential_of(self)
        self.args_key = self.args.model_dump_json()


class Hub:
    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        # (organization, table) → subscriptions reading it: matching a change costs the
        # same with 100 or 100,000 subscriptions in the process.
        self._by_source: dict[tuple[int, str], set[Subscription]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._flush: asyncio.Task[None] | None = None
        self._dirty: set[Subscription] = set()
        self._pruner: asyncio.Task[None] | None = None
        self.executions = 0  # query runs so far: a benchmark divides it by pushes

    # --- subscriptions ------------------------------------------------------------------

    async def subscribe(self, subscription: Subscription) -> None:
        self._ensure_listener()
        self.add(subscription)
        await self._refresh([subscription], recheck=False)

    def add(self, subscription: Subscription) -> None:
        self.subscriptions.add(subscription)
        for table in subscription.query.tables:
            key = (subscription.actor.organization_id, table)
            self._by_source.setdefault(key, set()).add(subscription)

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)
        for table in subscription.query.tables:
            key = (subscription.actor.organization_id, table)
            bucket = self._by_source.get(key)
            if bucket is not None:
                bucket.discard(subscription)
                if not bucket:
                    del self._by_source[key]

    # --- change notifications -------------------------------------------------------------

    def changed(self, table: str, organization_id: int) -> None:
        matched = self._by_source.get((organization_id, table))
        if not matched:
            return
        self._dirty |= matched
        self._schedule_flush()

    def changed_everything(self) -> None:
        self._dirty |= self.subscriptions
        self._schedule_flush()

    def is_pending(self, subscription: Subscription) -> bool:
        """Marked for a re-run that has not happened yet."""
        return subscription in self._dirty

    def _schedule_flush(self) -> None:
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._flush_dirty())

    async def _flush_dirty(self) -> None:
        """Re-run at once when idle; changes that arrive while a re-run is under way are
        coalesced into the next one, so a burst costs a few runs, not one per commit."""
        await asyncio.sleep(0)  # take in notifications already received
        while self._dirty:
            batch = [s for s in self._dirty if s in self.subscriptions]
            self._dirty = set()
            if batch:
                await self._refresh(batch, recheck=True)

    async def _refresh(self, batch: list[Subscription], *, recheck: bool) -> None:
        outcomes = await database_sync_to_async(self._evaluate)(batch, recheck)
        for subscription, outcome in outcomes:
            try:
                await self._deliver(subscription, outcome)
            except Exception:  # one broken socket must not keep values from the others
                logger.exception("live queries: could not deliver to a subscriber")
                self.unsubscribe(subscription)

    async def _deliver(self, subscription: Subscription, outcome: str | AppError) -> None:
        if subscription not in self.subscriptions:  # ended while this run was under way
            return
        if isinstance(outcome, AppError):
            self.unsubscribe(subscription)
            error = {"type": "error", "id": subscription.subscription_id, **outcome.as_dict()}
            await subscription.send(json.dumps(error))
        elif outcome != subscription.last:  # the value, encoded once per distinct run
            subscription.last = outcome
            frame_id = json.dumps(subscription.subscription_id)
            await subscription.send(f'{{"type":"result","id":{frame_id},"value":{outcome}}}')

    def _evaluate(
        self, batch: list[Subscription], recheck: bool
    ) -> list[tuple[Subscription, str | AppError]]:
        """Re-run a batch against ONE snapshot, so no page shows one list new and another
        old. Identical subscriptions (same query and arguments, and the same actor or, for
        queries that vary only by permissions, equal effective permissions) run once, and
        each distinct credential is re-checked once."""
        outcomes: list[tuple[Subscription, str | AppError]] = []
        shared: dict[tuple[str, str, Hashable], str | AppError] = {}
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            actors = self._recheck(batch) if recheck else {}
            for subscription in batch:
                try:
                    if recheck:
                        subscription.actor = self._still_allowed(subscription, actors)
                    key = (
                        subscription.query.name,
                        subscription.args_key,
                        subscription.actor.access
                        if subscription.query.varies_by == "permissions"
                        else subscription.actor,
                    )
                    if key not in shared:
                        self.executions += 1
                        with transaction.atomic():  # a failing query spoils only itself
                            value = door.evaluate(
                                subscription.query, subscription.actor, subscription.args
                            )
                        shared[key] = _encode(subscription.query, value)
                    outcomes.append((subscription, shared[key]))
                except AppError as error:
                    outcomes.append((subscription, error))
                except Exception as error:  # reported on the socket; the hub keeps serving
                    outcomes.append((subscription, as_app_error(error)))
        return outcomes

    @staticmethod
    def _recheck(batch: list[Subscription]) -> dict[Hashable, Actor | AppError]:
        """Resolve every distinct credential of the batch again, all at once: removed
        members and revoked keys lose access now."""
        scopes: dict[Hashable, dict[str, Any]] = {}
        for subscription in batch:
            scopes.setdefault(subscription.credential, subscription.source)
        return dict(zip(scopes, recheck(list(scopes.values())), strict=True))

    @staticmethod
    def _still_allowed(
        subscription: Subscription, actors: dict[Hashable, Actor | AppError]
    ) -> Actor:
        actor = actors[subscription.credential]
        if isinstance(actor, AppError):
            raise actor
        if actor.organization_id != subscription.actor.organization_id:
            # No longer a member there: never show another organization's data instead.
            raise errors.forbidden("You no longer have access to this organization.")
        return actor

    async def aclose(self) -> None:
        """Stop listening (closing the LISTEN connection) and forget all subscriptions."""
        self.subscriptions.clear()
        self._dirty.clear()
        self._by_source.clear()
        for task in (self._listener, self._flush, self._pruner):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # --- the listener ----------------------------------------------------------------------

    def _ensure_listener(self) -> None:
        loop = asyncio.get_running_loop()
        if self._listener is None or self._listener.done():
            self._listener = loop.create_task(self._listen())
        if self._pruner is None or self._pruner.done():
            self._pruner = loop.create_task(self._prune())

    async def _prune(self) -> None:
        """Keep the durable change record short: an hour is plenty to catch up from."""
        while True:
            try:
                await database_sync_to_async(prune_changes)()
            except Exception:  # the next round tries again
                logger.exception("live queries: pruning kernel_change failed")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    async def _listen(self) -> None:
        attempt = 0
        while self.subscriptions or attempt == 0:
            try:
                async with await psycopg.AsyncConnection.connect(
                    database_conninfo(), autocommit=True
                ) as listening:
                    if settings.LIVE_CHANGES == "poll":
                        await self._poll(listening)
                    else:
                        await listening.execute(f"LISTEN {CHANNEL}")
                        if self.subscriptions:  # evaluated before LISTEN, or while lost:
                            self.changed_everything()  # we may have missed notifications
                        attempt = 1
                        async for notification in listening.notifies():
                            table, _, organization = notification.payload.rpartition(":")
                            if organization.isdigit():
                                self.changed(table, int(organization))
            except (psycopg.OperationalError, OSError) as error:
                delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                logger.warning(
                    "live queries: listener lost (%s); reconnecting in %ss", error, delay
                )
                attempt += 1
                await asyncio.sleep(delay)

    async def _poll(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """LIVE_CHANGES=poll: read new `kernel_change` rows every LIVE_POLL_MS.

        Row ids do not arrive in commit order (a transaction that began earlier can commit
        later), so progress is tracked by transaction id: every transaction older than
        the oldest one still running (the snapshot's xmin) is over, so rows at or above
        the previous xmin are read again and de-duplicated by id."""
        horizon, seen = await _read_changes(connection, horizon=None)
        if self.subscriptions:  # evaluated before the first read, or while we were away:
            self.changed_everything()  # rows may have been written meanwhile
        while True:
            await asyncio.sleep(settings.LIVE_POLL_MS / 1000)
            rows: list[tuple[int, str, int]] = []
            horizon, covered = await _read_changes(connection, horizon, rows)
            for row_id, table, organization in rows:
                if row_id not in seen:  # read last time already
                    self.changed(table, organization)
            seen = covered


async def _read_changes(
    connection: psycopg.AsyncConnection[Any],
    horizon: int | None,
    rows: list[tuple[int, str, int]] | None = None,
) -> tuple[int, set[int]]:
    """Rows of transactions at or above `horizon` (all of them the first time), into
    `rows`; the new horizon, and the ids read that it still covers."""
    cursor = await connection.execute(
        "SELECT s.xmin, c.id, c.xid, c.table_name, c.organization_id "
        "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) s "
        "LEFT JOIN kernel_change c ON c.xid >= COALESCE(%s, s.xmin) ORDER BY c.id",
        [horizon],
    )
    found = await cursor.fetchall()
    xmin = int(found[0][0])
    still_covered = set()
    for _, row_id, xid, table, organization in found:
        if row_id is None:
            continue
        if rows is not None:
            rows.append((row_id, table, organization))
        if xid >= xmin:
            still_covered.add(row_id)
    return xmin, still_covered


def _encode(query: Function, value: Any) -> str | AppError:
    data = query.dump_json(value)
    if len(data) > MAX_VALUE_BYTES:
        return errors.invalid_input(
            f"The value is larger than a socket frame allows ({MAX_VALUE_BYTES // 1024} KiB): "
            "ask for less (filters, a smaller page)."
        )
    return data.decode()


def _credential_of(subscription: Subscription) -> Hashable:
    """What its actor is resolved from: the Authorization header, else the session and
    its user (and the organization it subscribed in: another tab may have switched the
    session's). Equal credentials resolve to equal actors."""
    source = subscription.source
    for name, value in source.get("headers", ()):
        if name == b"authorization":
            return bytes(value)
    session, user = source.get("session"), source.get("user")
    return (
        getattr(session, "session_key", None),
        getattr(user, "pk", None),
        subscription.actor.organization_id,
    )


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop: one per server process (and per test loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
