"""Benchmark: live queries (docs/live-queries.md).

    .venv/bin/python bench/workspace_records/reactive.py

Against one daphne process on the `<database>_bench` database, with the clients in this
process (a lean Sans-I/O client, so client work is small but inside the figures):
  * latency from a commit to the subscriber receiving the new value, p50/p99, with 1,
    100 and 1,000 subscribers (each its own API key, equal permissions) to the same query,
    and with 1,000 subscribers to 1,000 different organizations' queries (one changes);
  * query executions per change ÷ subscribers notified;
  * the floor on the same machine: a NOTIFY → LISTEN round trip plus one run of the
    query's SQL; and the same round trip with the query run as the app runs it (the
    registered function: ORM, output schema, JSON), which no transport can beat;
  * the bare fan-out floor: NOTIFY → LISTEN in a plain asyncio process that writes one
    prebuilt frame of the value's size to 1, 100 and 1,000 sockets (no query, no
    framework), read by the same client — what fanning out from one Python process costs
    by itself — measured in blocks of rounds alternating with the live query's at the same
    socket count, so the machine's noise falls on both alike;
  * server memory per idle socket and per subscription (RSS deltas);
and in process: the cost of matching a change that touches no subscription with 10,000
vs 100 subscriptions in the hub.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    bench_database_url,
    bench_key,
    free_port,
    server_env,
    wait_until_up,
)
from bench.workspace_records.records import SERVERS, prepare  # noqa: E402

ROUNDS = 60


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
    }


def viewer_key(organization_id: int) -> str:
    return bench_key(organization_id, ["workspace.records.read"], name="live")


def keys_for_organizations(count: int) -> list[tuple[int, str]]:
    """One viewer key in each of `count` organizations (the keys of earlier runs are
    deleted: only hashes are stored, so they cannot be reused, and piling them up would
    slow every run's key lookups)."""
    from accounts.models import User
    from organizations.models import ApiKey, Organization
    from workspace_records.models import WorkspaceRecord

    ApiKey.objects.unscoped().filter(name="live").delete()
    # Earlier runs' writes: every run starts from the same page (full_page), so runs compare.
    WorkspaceRecord.objects.unscoped().filter(organization__slug__startswith="bench-live-").delete()
    User.objects.filter(email__startswith="live-", email__endswith="@bench.invalid").delete()
    pairs = []
    for n in range(count):
        organization, _ = Organization.objects.get_or_create(
            slug=f"bench-live-{n}", defaults={"name": f"Live {n}"}
        )
        pairs.append((organization.pk, viewer_key(organization.pk)))
    return pairs


def executions(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/live-executions") as response:
        return int(json.load(response)["executions"])


class LiveClient(asyncio.Protocol):
    """A lean WebSocket client: websockets' Sans-I/O protocol driven from `data_received`,
    with no task per message and the arrival time taken as the bytes arrive, so that the
    client's own work stays small next to the server's. Any text frame counts (once
    subscribed, the server sends only results); the value is not decoded."""

    def __init__(self, headers: dict[str, str]) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.protocol = ClientProtocol(parse_uri("ws://127.0.0.1/ws/"), max_size=None)
        self.headers = headers
        self.transport: asyncio.Transport | None = None
        self.opened = asyncio.get_running_loop().create_future()
        self.waiting: asyncio.Future[float] | None = None
        self.last_size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.protocol.connect()
        for name, value in self.headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._write()

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response

        arrived = time.perf_counter()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response) and not self.opened.done():
                self.opened.set_result(event.status_code)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.last_size = len(event.data)
                if self.waiting is not None and not self.waiting.done():
                    self.waiting.set_result(arrived)
        self._write()

    def _write(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def next_frame(self) -> asyncio.Future[float]:
        """Resolves with the arrival time of the next text frame."""
        self.waiting = asyncio.get_running_loop().create_future()
        return self.waiting

    async def send(self, frame: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(frame).encode())
        self._write()

    async def subscribe(self) -> None:
        """Subscribe to `records.list` and wait for its first value."""
        first = self.next_frame()
        await self.send({"type": "subscribe", "id": "s", "query": "records.list"})
        await first

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_clients(port: int, keys: list[str], subscribe: bool) -> list[LiveClient]:
    loop = asyncio.get_running_loop()
    clients = []
    for raw in keys:
        headers = {"Authorization": f"Bearer {raw}"}
        _, client = await loop.create_connection(partial(LiveClient, headers), "127.0.0.1", port)
        if await client.opened != 101:
            raise RuntimeError("the WebSocket handshake was refused")
        if subscribe:
            await client.subscribe()
        clients.append(client)
    return clients


async def close_all(clients: list[LiveClient]) -> None:
    """Close, then let the server finish tearing the connections down (daphne does so on
    a timer), so the next phase measures a server at rest."""
    for client in clients:
        client.close()
    await asyncio.sleep(2)


async def latencies(
    clients: list[LiveClient], commit: Callable[[int], float], rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds from each commit to each client holding the frame; and to the first.
    `commit()` runs in a worker thread and returns when its commit has returned."""
    measured: list[float] = []
    firsts: list[float] = []
    for n in range(rounds):
        arrivals = [client.next_frame() for client in clients]
        await asyncio.sleep(0.01)
        committed = await asyncio.to_thread(commit, n)
        received = [await arrival - committed for arrival in arrivals]
        measured.extend(received)
        firsts.append(min(received))
        await asyncio.sleep(0.05)
    return measured, firsts


def record_writer(organization_id: int) -> Callable[[int], float]:
    from django.db import close_old_connections

    from workspace_records.models import WorkspaceRecord

    def write(n: int) -> float:
        WorkspaceRecord.objects.create(organization_id=organization_id, title=f"live {n}")
        committed = time.perf_counter()  # autocommit: the commit has returned
        close_old_connections()
        return committed

    return write


def floor(
    database_url: str,
    organization_id: int,
    rounds: int = 1000,
    query: Callable[[], object] | None = None,
) -> list[float]:
    """NOTIFY → LISTEN round trips, each followed by one run of the records list: its SQL
    on the listening connection, or `query()` when given."""
    import psycopg

    from bench.workspace_records.baseline import SQL

    samples = []
    with (
        psycopg.connect(database_url, autocommit=True) as listening,
        psycopg.connect(database_url, autocommit=True) as writing,
    ):
        listening.execute("LISTEN bench_floor")
        for _ in range(rounds):
            started = time.perf_counter()
            writing.execute("NOTIFY bench_floor, 'x'")
            next(listening.notifies(timeout=5, stop_after=1))
            if query is None:
                listening.execute(SQL, [organization_id]).fetchall()
            else:
                query()
            samples.append(time.perf_counter() - started)
    return samples


def the_query_as_the_app_runs_it(raw_key: str) -> Callable[[], object]:
    """The registered `records.list` for the key's actor (resolved once, as the hub
    caches it): permission check, the ORM, the output schema, JSON. No hub, no socket."""
    from kernel import door
    from kernel.actor import Actor
    from kernel.actors import recheck
    from kernel.functions import FUNCTIONS

    function = FUNCTIONS["records.list"]
    args = function.input.model_validate({})
    scope = {"type": "websocket", "headers": [(b"authorization", f"Bearer {raw_key}".encode())]}
    (actor,) = recheck([scope])
    assert isinstance(actor, Actor), actor
    return lambda: function.dump_json(door.evaluate(function, actor, args))


def matching_cost(subscriptions: int, changes: int = 50_000) -> float:
    """Seconds per `changed()` call that matches nothing, with that many subscriptions."""
    from kernel.actor import Actor
    from kernel.functions import FUNCTIONS
    from kernel.live.hub import Hub, Subscription
    from kernel.permissions import Role
    from workspace_records.schemas import RecordFilters

    hub = Hub()
    query = FUNCTIONS["records.list"]

    async def send(text: str) -> None:
        return None

    for n in range(subscriptions):
        actor = Actor(None, n, Role.VIEWER)
        subscription = Subscription(n, query, RecordFilters(), actor, {}, send)
        hub.add(subscription)
        hub.watch(subscription, frozenset({("workspace_records_workspacerecord", n)}))
    started = time.perf_counter()
    for n in range(changes):
        hub.changed("workspace_records_workspacerecord", 10_000_000 + n)
    return (time.perf_counter() - started) / changes


def rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


async def serve_bare_fanout(port: int, database_url: str, size: int) -> None:
    """The fan-out floor's server, in its own process: LISTEN, and on each notification
    write one prebuilt frame of `size` bytes to every connected socket. No query, no
    framework: what fanning out in one Python process costs by itself."""
    import psycopg
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Request
    from websockets.server import ServerProtocol

    frame = Frame(Opcode.TEXT, b"x" * size).serialize(mask=False)
    transports: list[asyncio.Transport] = []

    class Bare(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport, self.protocol = transport, ServerProtocol()

        def data_received(self, data: bytes) -> None:
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Request):
                    self.protocol.send_response(self.protocol.accept(event))
                    transports.append(self.transport)
            for chunk in self.protocol.data_to_send():
                if chunk:
                    self.transport.write(chunk)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.transport in transports:
                transports.remove(self.transport)

    await asyncio.get_running_loop().create_server(Bare, "127.0.0.1", port)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listening:
        await listening.execute("LISTEN bench_fanout")
        print("ready", flush=True)
        async for _ in listening.notifies():
            for transport in transports:
                transport.write(frame)


class BareFanout:
    """The bare fan-out floor's server process (`serve_bare_fanout`), and a writer that
    wakes it: NOTIFY on its channel, returning when the NOTIFY has committed."""

    def __init__(self, database_url: str, size: int) -> None:
        import psycopg

        self.port = free_port()
        self.server = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "--bare-fanout-server", str(self.port), str(size)],
            cwd=ROOT,
            env=server_env(database_url),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.server.stdout is not None
        self.server.stdout.readline()  # "ready"
        self.writing = psycopg.connect(database_url, autocommit=True)

    def notify(self, n: int) -> float:
        self.writing.execute("NOTIFY bench_fanout")
        return time.perf_counter()

    def close(self) -> None:
        self.writing.close()
        self.server.terminate()
        self.server.wait(10)


async def against_the_floor(
    clients: list[LiveClient],
    commit: Callable[[int], float],
    bare: list[LiveClient],
    notify: Callable[[int], float],
    rounds: int = ROUNDS,
    block: int = 10,
) -> tuple[list[float], list[float], list[float]]:
    """The live query's latencies and the bare floor's at the same socket count, in
    alternating blocks of rounds, so that the machine's noise (2 shared cores) falls on
    both alike: (live, live first receivers, bare)."""
    live: list[float] = []
    firsts: list[float] = []
    floor_: list[float] = []
    for start in range(0, rounds, block):
        measured, first = await latencies(clients, commit, min(block, rounds - start))
        live.extend(measured)
        firsts.extend(first)
        measured, _ = await latencies(bare, notify, min(block, rounds - start))
        floor_.extend(measured)
    return live, firsts, floor_


async def run(port: int, pid: int, database_url: str) -> dict[str, Any]:
    from channels.db import database_sync_to_async

    pairs = await database_sync_to_async(keys_for_organizations)(1000)
    same_org, same_key = pairs[0]
    # Every subscriber of the same query is a different key (actor) with equal permissions.
    keys = [same_key, *[await database_sync_to_async(viewer_key)(same_org) for _ in range(999)]]
    await database_sync_to_async(full_page)(same_org)
    await database_sync_to_async(vacuum_analyze)()
    report: dict[str, Any] = {}

    # Memory first, while the server process is fresh (later phases leave freed heap
    # behind that new sockets would reuse, hiding their cost).
    before = rss(pid)
    idle = await open_clients(port, keys, subscribe=False)
    await asyncio.sleep(1)
    with_sockets = rss(pid)
    for client in idle:
        await client.subscribe()
    await asyncio.sleep(1)
    with_subscriptions = rss(pid)
    value_size = idle[0].last_size
    await close_all(idle)
    report["server_kb_per_idle_socket"] = round((with_sockets - before) / 1000 / 1024, 1)
    report["server_kb_per_subscription"] = round(
        (with_subscriptions - with_sockets) / 1000 / 1024, 1
    )
    report["value_bytes"] = value_size

    write_same_org = record_writer(same_org)
    bare = await asyncio.to_thread(BareFanout, database_url, value_size)
    report["bare_fanout_floor"] = {}
    try:
        for count in (1, 100, 1000):
            clients = await open_clients(port, keys[:count], subscribe=True)
            bare_clients = await open_clients(bare.port, [""] * count, subscribe=False)
            runs_before = await asyncio.to_thread(executions, port)
            measured, firsts, floor_ = await against_the_floor(
                clients, write_same_org, bare_clients, bare.notify
            )
            row = report[f"same_query_{count}_subscribers"] = ms(measured)
            row["first_receiver_p50_ms"] = ms(firsts)["p50_ms"]
            runs = await asyncio.to_thread(executions, port) - runs_before
            row["executions_per_subscriber_notified"] = round(runs / (ROUNDS * count), 4)
            report["bare_fanout_floor"][f"{count}_sockets"] = ms(floor_)
            await close_all([*clients, *bare_clients])
    finally:
        await asyncio.to_thread(bare.close)

    clients = await open_clients(port, [raw for _, raw in pairs], subscribe=True)
    changed, _ = await latencies(clients[:1], record_writer(pairs[0][0]), ROUNDS)
    report["different_organizations_1000_subscribers"] = ms(changed)
    await close_all(clients)

    report["floor_notify_listen_plus_query"] = ms(
        await database_sync_to_async(floor)(database_url, same_org)
    )
    app_query = await database_sync_to_async(the_query_as_the_app_runs_it)(same_key)
    report["floor_notify_listen_plus_the_app_s_query"] = ms(
        await database_sync_to_async(floor)(database_url, same_org, query=app_query)
    )
    return report


def full_page(organization_id: int) -> None:
    """A full first page before any subscriber: every value pushed is then a page of the
    same size, and the bare floor's frame (sized from the first value) matches it."""
    from workspace_records.models import WorkspaceRecord

    WorkspaceRecord.objects.bulk_create(
        WorkspaceRecord(organization_id=organization_id, title=f"seed {n}", body="x" * 40)
        for n in range(50)
    )


def vacuum_analyze() -> None:
    """Fresh planner statistics for the organizations and keys just made, so no phase runs
    on a plan made for an empty table; and the previous run's deleted keys vacuumed now,
    rather than by autovacuum in the middle of a measurement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main() -> None:
    if sys.argv[1:2] == ["--bare-fanout-server"]:
        asyncio.run(
            serve_bare_fanout(int(sys.argv[2]), os.environ["DATABASE_URL"], int(sys.argv[3]))
        )
        return
    database_url = bench_database_url()
    prepare(database_url)  # migrations, seed data, Django set up in this process
    cost_100, cost_10k = matching_cost(100), matching_cost(10_000)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        SERVERS["daphne"](port), cwd=ROOT, env=server_env(database_url)
    )
    try:
        wait_until_up(port)
        report = asyncio.run(run(port, server.pid, database_url))
    finally:
        server.terminate()
        server.wait(10)
    report["matching_us_per_change_100_subscriptions"] = round(cost_100 * 1e6, 3)
    report["matching_us_per_change_10000_subscriptions"] = round(cost_10k * 1e6, 3)
    report["matching_ratio_10000_vs_100"] = round(cost_10k / cost_100, 2)
    bare, floor_ = report["bare_fanout_floor"], report["floor_notify_listen_plus_query"]
    app_floor = report["floor_notify_listen_plus_the_app_s_query"]
    report["targets"] = {
        # p99 at 100 subscribers of one query <= 2.5 x the bare fan-out's p99 at 100 sockets
        "p99_100_subscribers_vs_bare_100": round(
            report["same_query_100_subscribers"]["p99_ms"] / bare["100_sockets"]["p99_ms"], 2
        ),
        # p50 at 1,000 subscribers <= 3 x the bare fan-out's p50 at 1,000 sockets
        "p50_1000_subscribers_vs_bare_1000": round(
            report["same_query_1000_subscribers"]["p50_ms"] / bare["1000_sockets"]["p50_ms"], 2
        ),
        # one subscriber <= 2 x NOTIFY → LISTEN plus the query's SQL
        "p50_1_subscriber_vs_floor": round(
            report["same_query_1_subscribers"]["p50_ms"] / floor_["p50_ms"], 2
        ),
        "p99_1_subscriber_vs_floor": round(
            report["same_query_1_subscribers"]["p99_ms"] / floor_["p99_ms"], 2
        ),
        # what the transport adds: one subscriber against the same round trip with the
        # query run as the app runs it (ORM, schema, JSON), in one process
        "p50_1_subscriber_vs_app_query_floor": round(
            report["same_query_1_subscribers"]["p50_ms"] / app_floor["p50_ms"], 2
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
