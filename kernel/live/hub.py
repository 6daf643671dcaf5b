"""The per-process hub: subscriptions, and one LISTEN connection that re-runs them.

Each app process LISTENs to PostgreSQL itself, so a change committed through any process
(or the admin, a shell, raw SQL) reaches subscribers in every process. Notifications that
arrive together are coalesced; a subscription is re-run once per burst and its value is
pushed only if it changed.

What a subscription watches is what its last run read (kernel/live/reads.py). Its actor
is cached per credential, with the tables and rows the credential was resolved from;
a change to any of them (a membership, an API key, a plan, the person, the session)
drops the cached actor and re-runs exactly its subscriptions, which then end with
`forbidden`/`unauthenticated` if access is gone, whether or not their data changed.

Faults: a database error never ends a subscription. The batch stays pending and is
retried with backoff; subscribers are told `unavailable` meanwhile, and after recovery
every subscription re-runs once (notifications may have been missed) before `live`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kernel import door, errors
from kernel.actor import Actor, Person
from kernel.actors import recheck
from kernel.change_capture import (
    ChangeKey,
    organizations_table,
    people_table,
    sessions_table,
)
from kernel.errors import AppError
from kernel.functions import Function
from kernel.inputs import Input
from kernel.live.flow import text_frame
from kernel.live.listener import RETRY_SECONDS, ChangeListener
from kernel.live.reads import ReadSet, recording, tables
from kernel.live.thread import DatabaseThread
from kernel.rendering import as_app_error, is_unavailable

logger = logging.getLogger(__name__)

MAX_VALUE_BYTES: Final = 1024 * 1024 - 1024
"""daphne refuses frames over 1 MiB; leave room for the frame's envelope."""

YIELD_EVERY: Final = 64
"""Deliveries between yields to the event loop: the server sends what was written only
when the loop runs, so without them the first of 1,000 subscribers waited for the last."""
ANY_ROW: Final = "*"
"""(table, ANY_ROW): watching every row of a table captured by row."""
CREDENTIAL_TABLES: Final = "credentials"
"""(CREDENTIAL_TABLES, organization): the credentials resolved in that organization."""
EVERYTHING: Final = ("*", "*")
"""In a run's log: the listener reconnected meanwhile, so anything may have changed."""
CREDENTIAL_MAX_AGE: Final = 60.0
"""Seconds a cached actor is trusted without a change: keys and plans also end by time
(`expires_at`), which no notification announces."""

Send = Callable[[str], Awaitable[None]]
"""Sends one text frame to the subscriber's socket."""
Status = Callable[[str], Awaitable[None]]
"""Tells the subscriber's socket the server's state: "unavailable" or "live"."""
Write = Callable[[bytes], bool]
"""Writes a prebuilt WebSocket frame to the socket now, if it can (kernel/live/flow.py)."""


@dataclass(eq=False)
class Subscription:
    subscription_id: str | int
    query: Function
    args: Input
    """Validated once, when it subscribed."""
    actor: Actor | Person
    """A Person for personal queries (the bell's count): theirs in any organization."""
    source: dict[str, Any]
    """The connection's scope: the actor is resolved from it again before each re-run."""
    send: Send
    status: Status | None = None
    write: Write | None = None
    language: str = ""
    """Its socket's language (kernel/languages.py): its values and errors are made in it."""
    last: str | None = None
    """The last value sent, as JSON text."""
    watching: frozenset[ChangeKey] = frozenset()
    """What its last run read, in its organization."""
    credential: Hashable = field(init=False)
    """What the actor is resolved from (`_credential_of`): cached, and re-checked when
    something it was resolved from changes."""
    args_key: str = field(init=False)
    """The arguments as canonical JSON: with the query and access, what runs are shared by."""

    def __post_init__(self) -> None:
        # Computed once here rather than for every subscriber of every re-run.
        self.credential = _credential_of(self)
        self.args_key = self.args.model_dump_json()


class Unavailable(Exception):
    """The database failed a whole batch: it is retried, nothing is delivered."""


@dataclass
class _Credential:
    actor: Actor | Person
    watching: frozenset[ChangeKey]
    read_at: float = field(default_factory=time.monotonic)


@dataclass
class _Run:
    """What one batch's evaluation produced, for the event loop to apply."""

    outcomes: list[tuple[Subscription, str | AppError]]
    watching: dict[Subscription, frozenset[ChangeKey]]
    credentials: dict[Hashable, _Credential]
    credential_tables: set[str]


class Hub:
    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        # What changed → who cares, so matching a change costs the same with 100 or
        # 100,000 subscriptions in the process.
        self._watchers: dict[ChangeKey, set[Subscription]] = {}
        self._credentials: dict[Hashable, _Credential] = {}
        self._credential_watchers: dict[ChangeKey, set[Hashable]] = {}
        self._holders: dict[Hashable, set[Subscription]] = {}
        self._credential_tables: set[str] = set()
        """Tenant tables read while resolving actors (memberships, keys, plans)."""
        self._sessions: dict[str, set[Callable[[], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._in_flight: list[set[ChangeKey]] = []
        """Changes noticed while batches were being evaluated: each run's own log."""
        self._dirty: set[Subscription] = set()
        self._listener: asyncio.Task[None] | None = None
        self._flush: asyncio.Task[None] | None = None
        self._expirer: asyncio.Task[None] | None = None
        self._listening = False
        self.degraded = False
        self._database = DatabaseThread()
        self.executions = 0  # query runs so far: a benchmark divides it by pushes

    # --- subscriptions ------------------------------------------------------------------

    async def subscribe(self, subscription: Subscription) -> None:
        """Add it and send its first value (or, if the database is away, `unavailable`
        now and the value once it is back)."""
        self._ensure_listener()
        self.add(subscription)
        try:
            await self._refresh([subscription])
        except Unavailable:
            self._dirty.add(subscription)
            await self._degrade()
            self._schedule_flush()

    def add(self, subscription: Subscription) -> None:
        self.subscriptions.add(subscription)
        self._holders.setdefault(subscription.credential, set()).add(subscription)

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)
        self._dirty.discard(subscription)
        self.watch(subscription, frozenset())
        holders = self._holders.get(subscription.credential)
        if holders is not None:
            holders.discard(subscription)
            if not holders:
                del self._holders[subscription.credential]
                self._forget_credential(subscription.credential)

    def watch(self, subscription: Subscription, keys: frozenset[ChangeKey]) -> None:
        """Re-index a subscription under what it read."""
        for key in subscription.watching - keys:
            bucket = self._watchers.get(key)
            if bucket is not None:
                bucket.discard(subscription)
                if not bucket:
                    del self._watchers[key]
        for key in keys - subscription.watching:
            self._watchers.setdefault(key, set()).add(subscription)
        subscription.watching = keys

    def watch_session(self, row_key: str, callback: Callable[[], Awaitable[None]]) -> None:
        """Call `callback` when the session's row changes or goes (signing out)."""
        self._ensure_listener()
        self._sessions.setdefault(row_key, set()).add(callback)

    def unwatch_session(self, row_key: str, callback: Callable[[], Awaitable[None]]) -> None:
        callbacks = self._sessions.get(row_key)
        if callbacks is not None:
            callbacks.discard(callback)
            if not callbacks:
                del self._sessions[row_key]

    # --- credentials ----------------------------------------------------------------------

    def _remember_credential(self, credential: Hashable, found: _Credential) -> None:
        self._forget_credential(credential)
        self._credentials[credential] = found
        for key in found.watching:
            self._credential_watchers.setdefault(key, set()).add(credential)

    def _forget_credential(self, credential: Hashable) -> None:
        found = self._credentials.pop(credential, None)
        if found is None:
            return
        for key in found.watching:
            bucket = self._credential_watchers.get(key)
            if bucket is not None:
                bucket.discard(credential)
                if not bucket:
                    del self._credential_watchers[key]

    def _invalidate(self, credential: Hashable) -> None:
        self._forget_credential(credential)
        self._dirty |= self._holders.get(credential, set())

    # --- change notifications -------------------------------------------------------------

    def changed(self, table: str, where: int | str) -> None:
        """A committed change to `table`: in organization `where` (an int) or to the row
        whose key is `where` (a str, for tables captured by row)."""
        key = (table, where)
        for log in self._in_flight:
            log.add(key)
            if isinstance(where, int):  # may be a credential table of that organization
                log.add((CREDENTIAL_TABLES, where))
        before = len(self._dirty)
        self._dirty |= self._watchers.get(key, set())
        if isinstance(where, str):
            self._dirty |= self._watchers.get((table, ANY_ROW), set())
            for callback in list(self._sessions.get(where, ())):
                self._spawn(callback())
        elif table in self._credential_tables:
            for credential in list(self._credential_watchers.get((CREDENTIAL_TABLES, where), ())):
                self._invalidate(credential)
        for credential in list(self._credential_watchers.get(key, ())):
            self._invalidate(credential)
        if len(self._dirty) != before:
            self._schedule_flush()

    def changed_everything(self) -> None:
        for log in self._in_flight:  # batches under way may have read what was missed
            log.add(EVERYTHING)
        for credential in list(self._credentials):
            self._forget_credential(credential)
        self._dirty |= self.subscriptions
        self._schedule_flush()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # the loop holds tasks weakly
        task.add_done_callback(self._tasks.discard)

    def is_pending(self, subscription: Subscription) -> bool:
        """Marked for a re-run that has not happened yet."""
        return subscription in self._dirty

    def _schedule_flush(self) -> None:
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._flush_dirty())

    async def _flush_dirty(self) -> None:
        """Re-run at once when idle; changes that arrive while a re-run is under way are
        coalesced into the next one, so a burst costs a few runs, not one per commit.
        A batch that fails is put back, never dropped."""
        await asyncio.sleep(0)  # take in notifications already received
        failures = 0
        while self._dirty:
            batch = [s for s in self._dirty if s in self.subscriptions]
            self._dirty = set()
            if not batch:
                continue
            try:
                await self._refresh(batch)
            except Exception as error:
                if not isinstance(error, Unavailable):
                    logger.exception("live queries: a re-run failed; retrying")
                self._dirty.update(s for s in batch if s in self.subscriptions)
                await self._degrade()
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0

    async def _degrade(self) -> None:
        if self.degraded:
            return
        self.degraded = True
        await self._tell("unavailable")

    async def _recover(self) -> None:
        self.degraded = False
        await self._tell("live")

    async def _tell(self, state: str) -> None:
        """Every socket with a subscription here, once each."""
        callbacks = {s.status for s in self.subscriptions if s.status is not None}
        for callback in callbacks:
            try:
                await callback(state)
            except Exception:  # a closed socket: its disconnect unsubscribes it
                logger.debug("live queries: could not send status", exc_info=True)

    async def _refresh(self, batch: list[Subscription]) -> None:
        noticed: set[ChangeKey] = set()
        self._in_flight.append(noticed)
        known = {
            s.credential: found.actor
            for s in batch
            if (found := self._credentials.get(s.credential)) is not None
        }
        try:
            run = await self._database.run(self._evaluate_or_fail, batch, known)
        finally:
            self._in_flight = [log for log in self._in_flight if log is not noticed]
        self._credential_tables |= run.credential_tables
        missed = EVERYTHING in noticed
        # Credentials that changed while this batch ran: its values for them may show data
        # their actor may no longer see, so they are not delivered but run again.
        doubtful = {credential for credential in known if credential not in self._credentials}
        for credential, found in run.credentials.items():
            if missed or found.watching & noticed or credential not in self._holders:
                doubtful.add(credential)  # changed while it was being read: read it again
                continue
            self._remember_credential(credential, found)
        for credential in run.credentials:
            if credential not in self._credentials and credential in self._holders:
                self._dirty |= self._holders[credential]
        for subscription, keys in run.watching.items():
            if subscription in self.subscriptions:
                self.watch(subscription, keys)
                if missed or keys & noticed:  # committed after its snapshot, before it watched
                    self._dirty.add(subscription)
        frames: dict[str, bytes] = {}  # framed once per distinct text, for every socket
        for n, (subscription, outcome) in enumerate(run.outcomes, 1):
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the server put written frames on the wire
            if subscription.credential in doubtful and not isinstance(outcome, AppError):
                self._dirty.add(subscription)
                continue
            try:
                await self._deliver(subscription, outcome, frames)
            except Exception:  # one broken socket must not keep values from the others
                logger.exception("live queries: could not deliver to a subscriber")
                self.unsubscribe(subscription)
        if self._dirty:
            self._schedule_flush()
        elif self.degraded and self._listening:
            await self._recover()

    async def _deliver(
        self, subscription: Subscription, outcome: str | AppError, frames: dict[str, bytes]
    ) -> None:
        if subscription not in self.subscriptions:  # ended while this run was under way
            return
        if isinstance(outcome, AppError):
            self.unsubscribe(subscription)
            error = {"type": "error", "id": subscription.subscription_id, **outcome.as_dict()}
            await subscription.send(json.dumps(error))
        elif outcome != subscription.last:  # the value, encoded once per distinct run
            subscription.last = outcome
            frame_id = json.dumps(subscription.subscription_id)
            text = f'{{"type":"result","id":{frame_id},"value":{outcome}}}'
            if subscription.write is not None:
                frame = frames.get(text)
                if frame is None:
                    frame = frames[text] = text_frame(text.encode())
                if subscription.write(frame):
                    return
            await subscription.send(text)

    def _evaluate_or_fail(
        self, batch: list[Subscription], known: dict[Hashable, Actor | Person]
    ) -> _Run:
        try:
            return self._evaluate(batch, known)
        except Exception as error:
            if not is_unavailable(error):
                raise
            logger.warning("live queries: database unavailable (%s); will retry", error)
            with contextlib.suppress(Exception):
                connection.close()  # a broken connection must not be reused
            raise Unavailable from error

    def _evaluate(self, batch: list[Subscription], known: dict[Hashable, Actor | Person]) -> _Run:
        """Re-run a batch against ONE snapshot, so no page shows one list new and another
        old. Credentials not cached are resolved again, all at once. Identical
        subscriptions (same query and arguments, and the same actor or, for queries that
        vary only by permissions, equal effective permissions) run once.

        When the whole batch is one run with cached actors (one query's subscribers,
        the usual case) there is nothing to keep consistent with: it runs on its own,
        like a request, without the snapshot's BEGIN, SET TRANSACTION and COMMIT (three
        of its four round trips)."""
        run = _Run([], {}, {}, set())
        shared: dict[
            tuple[str, str, Hashable, str], tuple[str | AppError, frozenset[ChangeKey]]
        ] = {}
        alone = _one_run(batch, known)
        with contextlib.nullcontext() if alone else _snapshot():
            actors: dict[Hashable, Actor | Person | AppError] = dict(known)
            actors.update(self._resolve_credentials(batch, known, run))
            for subscription in batch:
                try:
                    with translation.override(subscription.language or settings.LANGUAGE_CODE):
                        subscription.actor = _still_allowed(subscription, actors)
                        key = _shared_by(subscription, subscription.actor)
                        if key not in shared:
                            self.executions += 1
                            shared[key] = self._run_query(subscription, alone=alone)
                    outcome, keys = shared[key]
                    run.outcomes.append((subscription, outcome))
                    run.watching[subscription] = keys
                except AppError as error:
                    run.outcomes.append((subscription, error))
                except Exception as error:
                    if is_unavailable(error):
                        raise
                    run.outcomes.append((subscription, as_app_error(error)))  # a bug: reported
        return run

    def _resolve_credentials(
        self, batch: list[Subscription], known: dict[Hashable, Actor | Person], run: _Run
    ) -> dict[Hashable, Actor | Person | AppError]:
        scopes: dict[Hashable, Subscription] = {}
        people: dict[Hashable, Subscription] = {}
        for subscription in batch:
            if subscription.credential not in known:
                mine = people if isinstance(subscription.actor, Person) else scopes
                mine.setdefault(subscription.credential, subscription)
        found: dict[Hashable, Actor | Person | AppError] = dict(_recheck_people(people))
        for credential, person in found.items():
            if isinstance(person, Person):
                run.credentials[credential] = _Credential(person, _person_watching(person))
        if not scopes:
            return found
        with recording() as read:
            found.update(zip(scopes, recheck([s.source for s in scopes.values()]), strict=True))
        run.credential_tables |= read.tenant
        for credential, actor in found.items():
            if isinstance(actor, Actor):
                run.credentials[credential] = _Credential(actor, _credential_watching(actor))
        return found

    def _run_query(
        self, subscription: Subscription, *, alone: bool = False
    ) -> tuple[str | AppError, frozenset[ChangeKey]]:
        # A savepoint, so that a failing query spoils only itself: unless it runs alone.
        isolated = contextlib.nullcontext() if alone else transaction.atomic()
        with recording() as read:
            with isolated:
                value = door.evaluate(subscription.query, subscription.actor, subscription.args)
            encoded = _encode(subscription.query, value)
        _warn_uncaptured(subscription.query, read)
        actor = subscription.actor
        keys: set[ChangeKey] = set()
        if isinstance(actor, Actor):
            keys |= {(table, actor.organization_id) for table in read.tenant}
        by_person = tables().by_person
        for table in read.by_row:
            # A personal query reads its person's own rows of a table keyed by person
            # (notifications): only a change to those re-runs it, not anyone's.
            personal = isinstance(actor, Person) and table in by_person
            keys.add((table, str(actor.user_id) if personal else ANY_ROW))
        return encoded, frozenset(keys)

    async def aclose(self) -> None:
        """Stop listening (closing the LISTEN connection) and forget all subscriptions."""
        self.subscriptions.clear()
        self._dirty.clear()
        self._watchers.clear()
        self._credentials.clear()
        self._credential_watchers.clear()
        self._holders.clear()
        self._sessions.clear()
        for task in (self._listener, self._flush, self._expirer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._database.aclose()

    # --- the listener ----------------------------------------------------------------------

    async def _expire_credentials(self) -> None:
        """Re-check actors cached longer than CREDENTIAL_MAX_AGE (an expiring key or
        grant changes no row), whether or not their data changes."""
        while True:
            await asyncio.sleep(CREDENTIAL_MAX_AGE / 2)
            oldest = time.monotonic() - CREDENTIAL_MAX_AGE
            stale = [c for c, found in self._credentials.items() if found.read_at < oldest]
            for credential in stale:
                self._invalidate(credential)
            if stale:
                self._schedule_flush()

    def _ensure_listener(self) -> None:
        loop = asyncio.get_running_loop()
        if self._listener is None or self._listener.done():
            listener = ChangeListener(
                self.changed,
                connected=self._listening_again,
                lost=self._lost,
                wanted=lambda: bool(self.subscriptions or self._sessions),
            )
            self._listener = loop.create_task(listener.run())
        if self._expirer is None or self._expirer.done():
            self._expirer = loop.create_task(self._expire_credentials())

    async def _lost(self, error: BaseException) -> None:
        self._listening = False
        if self.subscriptions:
            await self._degrade()

    def _listening_again(self) -> None:
        """Connected (again): anything evaluated before, or while the listener was away,
        may have missed notifications, so everything re-runs once."""
        self._listening = True
        if self.subscriptions:
            self.changed_everything()
        for callbacks in list(self._sessions.values()):  # sign-outs may have been missed
            for callback in list(callbacks):
                self._spawn(callback())


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _shared_by(subscription: Subscription, actor: Actor | Person) -> tuple[str, str, Hashable, str]:
    """Subscriptions with equal keys get one run's value (its texts in one language)."""
    shared = subscription.query.varies_by == "permissions"
    who: Hashable = actor.access if shared and isinstance(actor, Actor) else actor
    return (subscription.query.name, subscription.args_key, who, subscription.language)


def _one_run(batch: list[Subscription], known: dict[Hashable, Actor | Person]) -> bool:
    """Every actor is cached (no re-check to read) and the batch shares one run."""
    if not all(s.credential in known for s in batch):
        return False
    return len({_shared_by(s, known[s.credential]) for s in batch}) == 1


def _still_allowed(
    subscription: Subscription, actors: dict[Hashable, Actor | Person | AppError]
) -> Actor | Person:
    actor = actors[subscription.credential]
    if isinstance(actor, AppError):
        raise actor
    if isinstance(actor, Person) or isinstance(subscription.actor, Person):
        return actor  # a person's own data, in no organization
    if actor.organization_id != subscription.actor.organization_id:
        # No longer a member there: never show another organization's data instead.
        raise errors.forbidden(_("You no longer have access to this organization."))
    return actor


def _credential_watching(actor: Actor) -> frozenset[ChangeKey]:
    """What a cached actor depends on: the credential tables of its organization, the
    person (or the key's creator), the organization's row and the session's."""
    known = tables()
    keys: set[ChangeKey] = {(CREDENTIAL_TABLES, actor.organization_id)}
    person = actor.user_id if actor.user_id is not None else actor.key_creator_id
    rows = {
        people_table(): person,
        organizations_table(): actor.organization_id,
        sessions_table(): actor.auth.session_key_hash,
    }
    for table, row in rows.items():
        if table in known.by_row and row is not None:
            keys.add((table, str(row)))
    return frozenset(keys)


def _recheck_people(people: dict[Hashable, Subscription]) -> dict[Hashable, Person | AppError]:
    """Personal subscribers still signed in and active (one query for any number); a
    sign-out closes the socket itself (the session's row is watched)."""
    if not people:
        return {}
    from django.contrib.auth import get_user_model

    ids = {s.actor.user_id for s in people.values() if s.actor.user_id is not None}
    active = set(
        get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
    )
    found: dict[Hashable, Person | AppError] = {}
    for credential, subscription in people.items():
        person = subscription.actor
        assert isinstance(person, Person)
        found[credential] = person if person.user_id in active else errors.unauthenticated()
    return found


def _person_watching(person: Person) -> frozenset[ChangeKey]:
    """What a cached person depends on: their own row and their session's."""
    known = tables()
    rows = {people_table(): person.user_id, sessions_table(): person.auth.session_key_hash}
    return frozenset(
        (table, str(row)) for table, row in rows.items() if table in known.by_row and row
    )


_warned: set[str] = set()


def _warn_uncaptured(query: Function, read: ReadSet) -> None:
    if read.uncaptured and query.name not in _warned:
        _warned.add(query.name)
        logger.error(
            "live queries: %s reads %s, which no change capture covers: changes there are "
            "never pushed (capture the model: TenantModel or captured_by_row)",
            query.name,
            ", ".join(sorted(read.uncaptured)),
        )


def _encode(query: Function, value: Any) -> str | AppError:
    data = query.dump_json(value)
    if len(data) > MAX_VALUE_BYTES:
        return errors.invalid_input(
            _(
                "The value is larger than a socket frame allows (%(limit)s KiB): "
                "ask for less (filters, a smaller page)."
            )
            % {"limit": MAX_VALUE_BYTES // 1024}
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
    actor = subscription.actor
    return (
        getattr(session, "session_key", None),
        getattr(user, "pk", None),
        "person" if isinstance(actor, Person) else actor.organization_id,
    )


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop: one per server process (and per test loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]


def subscription_count() -> int:
    """Subscriptions of every hub of this process (its /metrics reports them)."""
    return sum(len(each.subscriptions) for each in list(_hubs.values()))
