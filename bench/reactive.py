"""Benchmark: live queries (docs/live-queries.md).

    .venv/bin/python bench/reactive.py

Against one daphne process on the `<database>_bench` database, with the clients in this
process (so client work is inside the figures):
  * latency from a commit to the subscriber receiving the new value, p50/p99, with 1,
    100 and 1,000 subscribers (each its own API key, equal permissions) to the same query,
    and with 1,000 subscribers to 1,000 different organizations' queries (one changes);
  * query executions per change ÷ subscribers notified;
  * the floor on the same machine: a NOTIFY → LISTEN round trip plus one run of the
    query's SQL;
  * server memory per idle socket and per subscription (RSS deltas);
and in process: the cost of matching a change that touches no subscription with 10,000
vs 100 subscriptions in the hub.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.records import (  # noqa: E402
    SERVERS,
    bench_database_url,
    free_port,
    prepare,
    server_env,
    wait_until_up,
)

ROUNDS = 15


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.5) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
    }


def viewer_key(organization_id: int) -> str:
    from kernel.permissions import Role
    from organizations.api_keys import api_key_issue

    _key, raw = api_key_issue(
        organization_id=organization_id,
        name="live",
        role=Role.VIEWER,
        permissions=["workspace.records.read"],
        created_by_id=None,
    )
    return raw


def keys_for_organizations(count: int) -> list[tuple[int, str]]:
    """One viewer key in each of `count` organizations."""
    from organizations.models import Organization

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


async def open_sockets(port: int, keys: list[str], subscribe: bool) -> list[Any]:
    import websockets

    sockets = []
    for raw in keys:
        socket = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/",
            additional_headers={"Authorization": f"Bearer {raw}"},
            max_queue=None,
        )
        if subscribe:
            await socket.send(json.dumps({"type": "subscribe", "id": "s", "query": "records.list"}))
            await socket.recv()
        sockets.append(socket)
    return sockets


async def latencies(
    sockets: list[Any], organization_id: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds from each commit to each subscriber holding the value; and to the first."""
    from channels.db import database_sync_to_async

    from workspace_records.models import WorkspaceRecord

    measured: list[float] = []
    firsts: list[float] = []
    for n in range(rounds):
        receivers = [asyncio.create_task(s.recv()) for s in sockets]
        await asyncio.sleep(0.01)

        def write(n: int = n) -> float:
            WorkspaceRecord.objects.create(organization_id=organization_id, title=f"live {n}")
            return time.perf_counter()  # committed (autocommit)

        committed = await database_sync_to_async(write)()
        for index, receiver in enumerate(asyncio.as_completed(receivers)):
            await receiver
            measured.append(time.perf_counter() - committed)
            if index == 0:
                firsts.append(measured[-1])
        await asyncio.sleep(0.05)
    return measured, firsts


def floor(database_url: str, organization_id: int, rounds: int = 200) -> list[float]:
    import psycopg

    from bench.baseline import SQL

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
            listening.execute(SQL, [organization_id]).fetchall()
            samples.append(time.perf_counter() - started)
    return samples


def matching_cost(subscriptions: int, changes: int = 50_000) -> float:
    """Seconds per `changed()` call that matches nothing, with that many subscriptions."""
    from kernel.actor import Actor
    from kernel.live.hub import Hub, Subscription
    from kernel.live.registry import QUERIES
    from kernel.permissions import Role

    hub = Hub()
    query = QUERIES["records.list"]

    async def send(text: str) -> None:
        return None

    for n in range(subscriptions):
        actor = Actor(None, n, Role.VIEWER, frozenset())
        hub.add(Subscription(n, query, {}, actor, {}, send))
    started = time.perf_counter()
    for n in range(changes):
        hub.changed("workspace_records_workspacerecord", 10_000_000 + n)
    return (time.perf_counter() - started) / changes


def rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


async def run(port: int, pid: int, database_url: str) -> dict[str, Any]:
    from channels.db import database_sync_to_async

    pairs = await database_sync_to_async(keys_for_organizations)(1000)
    same_org, same_key = pairs[0]
    # Every subscriber of the same query is a different key (actor) with equal permissions.
    keys = [same_key, *[await database_sync_to_async(viewer_key)(same_org) for _ in range(999)]]
    report: dict[str, Any] = {}

    # Memory first, while the server process is fresh (later phases leave freed heap
    # behind that new sockets would reuse, hiding their cost).
    before = rss(pid)
    idle = await open_sockets(port, keys, subscribe=False)
    await asyncio.sleep(1)
    with_sockets = rss(pid)
    for socket in idle:
        await socket.send(json.dumps({"type": "subscribe", "id": "s", "query": "records.list"}))
        await socket.recv()
    await asyncio.sleep(1)
    with_subscriptions = rss(pid)
    for socket in idle:
        await socket.close()
    report["server_kb_per_idle_socket"] = round((with_sockets - before) / 1000 / 1024, 1)
    report["server_kb_per_subscription"] = round(
        (with_subscriptions - with_sockets) / 1000 / 1024, 1
    )

    for count in (1, 100, 1000):
        sockets = await open_sockets(port, keys[:count], subscribe=True)
        runs_before = await asyncio.to_thread(executions, port)
        measured, firsts = await latencies(sockets, same_org, ROUNDS)
        report[f"same_query_{count}_subscribers"] = ms(measured)
        report[f"same_query_{count}_subscribers"]["first_receiver_p50_ms"] = ms(firsts)["p50_ms"]
        runs = await asyncio.to_thread(executions, port) - runs_before
        report[f"same_query_{count}_subscribers"]["executions_per_subscriber_notified"] = round(
            runs / (ROUNDS * count), 4
        )
        for socket in sockets:
            await socket.close()

    sockets = await open_sockets(port, [raw for _, raw in pairs], subscribe=True)
    changed, _ = await latencies(sockets[:1], pairs[0][0], ROUNDS)
    report["different_organizations_1000_subscribers"] = ms(changed)
    for socket in sockets:
        await socket.close()

    report["floor_notify_listen_plus_query"] = ms(
        await database_sync_to_async(floor)(database_url, same_org)
    )
    return report


def main() -> None:
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
    floor_p99 = report["floor_notify_listen_plus_query"]["p99_ms"]
    report["p99_vs_floor_100_subscribers"] = round(
        report["same_query_100_subscribers"]["p99_ms"] / floor_p99, 1
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
