"""What the resolver read about a credential, kept between requests of a process until
the change capture says it changed: an API key with its creator's role, a membership,
an organization's plan. Without it every API request read the key and the grants again
(44 % of a request, profiled).

    key = principal_cache.read(("key", digest), load, depends_on)

`load()` runs under the SQL recorder (kernel/live/reads.py); `depends_on(value, read)`
names what the value came from — the organization's tenant tables it read, and the rows
(person, organization) of tables captured by row — or None to not keep it. A change to
any of them drops it:

  * committed elsewhere (another process, the admin, raw SQL): when its notification
    arrives on the cache's own listener (kernel/live/listener.py, one thread per process);
  * committed through this process's Django connections: at once, by an execute wrapper
    that notices writes to the tables entries depend on, and again after that commit.

Safe by construction: inside a transaction nothing is cached (the transaction's snapshot
is the truth: mutations re-read their actor there); while the listener is not connected
nothing is kept, and everything is dropped when it (re)connects; a value is not kept if
something it depends on changed while it was being read. Misses are never kept, so
random keys cannot fill it. PRINCIPAL_CACHE=false turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.signals import connection_created

from kernel.change_capture import ChangeKey
from kernel.live.reads import ReadSet, recording, tables

logger = logging.getLogger(__name__)

RECENT: Final = 4096
"""Changes remembered to judge values read meanwhile; older ones: the value is not kept."""
MAX_ENTRIES: Final = 50_000
MAX_AGE: Final = 300.0
"""Seconds any value is kept at most: a backstop should a notification ever be lost."""
_WRITE: Final = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|WITH)\b", re.IGNORECASE)
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    depends_on: frozenset[ChangeKey]
    good_until: float
    """time.time() after which it is read again: the value's own expiry (a key's or a
    grant's `expires_at` changes no row, so no notification says so), or MAX_AGE."""


class PrincipalCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}
        self._by_change: dict[ChangeKey, set[Hashable]] = {}
        self._by_table: dict[str, set[Hashable]] = {}
        self._recent: deque[tuple[int, str, int | str | None]] = deque(maxlen=RECENT)
        """(sequence, table, organization or row; None: any row, a write of this process)."""
        self._seq = 0
        self._connected = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[None] | None = None

    # --- reading ---------------------------------------------------------------------------

    def read[T](
        self,
        key: Hashable,
        load: Callable[[], T | None],
        depends_on: Callable[[T, ReadSet], Iterable[ChangeKey] | None],
        until: Callable[[T], datetime | None] = lambda value: None,
    ) -> T | None:
        """`until(value)`: when the value stops being true by itself (an expiry)."""
        if not settings.PRINCIPAL_CACHE or connection.in_atomic_block:
            return load()
        self._start()
        now = time.time()
        with self._lock:
            found = self._entries.get(key)
            connected, seq = self._connected, self._seq
        if found is not None and found.good_until > now:
            return found.value  # type: ignore[no-any-return]
        with recording() as read:
            value = load()
        if value is None or not connected:
            return value
        keys = depends_on(value, read)
        if keys is not None:
            ends = until(value)
            good_until = min(now + MAX_AGE, ends.timestamp() if ends else now + MAX_AGE)
            self._keep(key, value, frozenset(keys), seq, good_until)
        return value

    def _keep(
        self, key: Hashable, value: Any, keys: frozenset[ChangeKey], seq: int, good_until: float
    ) -> None:
        with self._lock:
            if not self._connected or len(self._entries) >= MAX_ENTRIES:
                return
            if self._seq != seq and self._changed_since(seq, keys):
                return  # it changed while being read: read it again next time
            self._drop(key)
            self._entries[key] = _Entry(value, keys, good_until)
            for change in keys:
                self._by_change.setdefault(change, set()).add(key)
                self._by_table.setdefault(change[0], set()).add(key)

    def _changed_since(self, seq: int, keys: frozenset[ChangeKey]) -> bool:
        if not self._recent or self._recent[0][0] > seq + 1:
            return True  # forgotten: assume the worst
        tables = {table for table, _ in keys}
        return any(
            n > seq and ((table, where) in keys or (where is None and table in tables))
            for n, table, where in self._recent
        )

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for change in entry.depends_on:
            _discard(self._by_change, change, key)
            _discard(self._by_table, change[0], key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_change.clear()
            self._by_table.clear()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def listening(self) -> bool:
        """Its listener is connected: values are being kept."""
        return self._connected

    # --- invalidation ----------------------------------------------------------------------

    def changed(self, table: str, where: int | str) -> None:
        """A committed change (from the listener)."""
        with self._lock:
            self._seq += 1
            self._recent.append((self._seq, table, where))
            for key in list(self._by_change.get((table, where), ())):
                self._drop(key)

    def wrote(self, tables: Iterable[str]) -> None:
        """This process wrote these tables: drop what depends on any of their rows."""
        with self._lock:
            for table in tables:
                self._seq += 1
                self._recent.append((self._seq, table, None))
                for key in list(self._by_table.get(table, ())):
                    self._drop(key)

    @staticmethod
    def captured_tables_in(sql: str) -> set[str]:
        """Every change-captured table a statement names: entries can depend on no other."""
        known = tables()
        return set(_IDENTIFIER.findall(sql)) & (known.tenant | known.by_row)

    # --- the listener ----------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._listen, name="principal-cache-listener", daemon=True
            )
            self._thread.start()

    def _listen(self) -> None:
        from kernel.live.listener import ChangeListener

        loop = asyncio.new_event_loop()
        self._loop = loop
        listener = ChangeListener(self.changed, connected=self._connected_again, lost=self._lost)
        self._task = loop.create_task(listener.run())
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(self._task)
        loop.close()

    def _connected_again(self) -> None:
        self._forget_history()  # anything may have changed while no one listened
        with self._lock:
            self._connected = True

    def _lost(self, error: BaseException) -> None:
        with self._lock:
            self._connected = False
        self._forget_history()

    def _forget_history(self) -> None:
        """Drop every value, and make values being read now unkeepable: with `_recent`
        emptied and `_seq` moved, `_changed_since` assumes the worst."""
        with self._lock:
            self._seq += 1
            self._recent.clear()
        self.clear()

    def stop(self) -> None:
        """Close the listener (tests: before the test database is dropped)."""
        loop, task, thread = self._loop, self._task, self._thread
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if thread is not None:
            thread.join(5)
        self._thread = self._loop = self._task = None
        with self._lock:
            self._connected = False
        self.clear()


def _discard[K](index: dict[K, set[Hashable]], name: K, key: Hashable) -> None:
    bucket = index.get(name)
    if bucket is not None:
        bucket.discard(key)
        if not bucket:
            del index[name]


CACHE: Final = PrincipalCache()


def read[T](
    key: Hashable,
    load: Callable[[], T | None],
    depends_on: Callable[[T, ReadSet], Iterable[ChangeKey] | None],
    until: Callable[[T], datetime | None] = lambda value: None,
) -> T | None:
    return CACHE.read(key, load, depends_on, until)


def scoped(
    read: ReadSet, organization_id: int, rows: dict[str, str | None]
) -> set[ChangeKey] | None:
    """The organization's tenant tables that were read, and the named rows of tables
    captured by row; None (do not keep) if a row table was read that `rows` does not
    name, since then its changes could not be matched."""
    if not read.by_row <= rows.keys() or read.uncaptured:
        return None
    keys: set[ChangeKey] = {(table, organization_id) for table in read.tenant}
    keys |= {(table, row) for table, row in rows.items() if row is not None}
    return keys


def _note_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """On every Django connection: a write to a table entries depend on drops them now
    and once more when the transaction commits (another thread may have read the old
    value in between)."""
    try:
        return execute(sql, params, many, context)
    finally:
        if _WRITE.match(sql):
            written = CACHE.captured_tables_in(sql)
            if written:
                CACHE.wrote(written)
                using = context["connection"]
                if using.in_atomic_block:
                    transaction.on_commit(lambda: CACHE.wrote(written), using=using.alias)


def _install_wrapper(sender: Any, connection: Any, **kwargs: Any) -> None:
    # Outermost, never last: a connection is often (re)opened by a statement inside
    # `connection.execute_wrapper(...)` (a cache read's recording), which on leaving pops
    # the *last* wrapper. Appended, this one was popped instead, and the recording was
    # left behind: one more per reconnect, until statements hit the recursion limit.
    if _note_writes not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _note_writes)


connection_created.connect(_install_wrapper)
