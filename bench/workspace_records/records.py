"""Benchmark: GET /api/v1/records (API key, 50 rows) against a bare raw-cursor endpoint
running the same SQL and against the same endpoint written with Django REST Framework
(drf_peer.py), in the same server and process model (one daphne or gunicorn process).

    make bench          # or: .venv/bin/python bench/workspace_records/records.py --seconds 10

Seeds 100 organizations x 1,000 records and one of 1,000,000 into a separate
`<name>_bench` database (once), starts each server with BENCHMARK_ENDPOINTS=true, and
prints, each as a ratio measured in the same run:
  * list page 1: requests/s of the project, the raw cursor and DRF (alternating rounds);
  * a deep cursor page (row 500,000 of the large organization) against page 1, p50;
  * creates with 1 and 8 clients, project and DRF; with 8 clients in one organization on
    a plan that bounds records, the conflicts answered and the transactions rolled back
    (each a retried attempt);
  * the worker's memory before and after the list rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database_url, bench_key, free_port, server_env, wait_until_up  # noqa: E402

ORGANIZATIONS, RECORDS_PER_ORGANIZATION = 100, 1_000
LARGE_ORGANIZATION = 1_000_000
DEEP_ROW = 500_000
PEERS = ROOT / "bench" / "peers" / "requirements.txt"


def ensure_peers() -> None:
    """The peers' dependencies, in this venv, for the benchmark only (pip does nothing
    when the pinned versions are there)."""
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(PEERS)], check=True
    )


def seed_large(organization_id: int) -> None:
    """A million records in one organization, once (set-based: seconds, not minutes)."""
    from django.db import connection

    from workspace_records.models import WorkspaceRecord

    if WorkspaceRecord.objects.for_organization(organization_id).count() >= LARGE_ORGANIZATION:
        return
    print(f"seeding {LARGE_ORGANIZATION:,} records in one organization…", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workspace_records_workspacerecord "
            "(organization_id, title, body, status, version, created_at, updated_at) "
            "SELECT %s, 'Record ' || n, repeat('x', 80), 'open', 1, "
            "now() - n * interval '1 second', now() FROM generate_series(1, %s) n",
            [organization_id, LARGE_ORGANIZATION],
        )
        cursor.execute("ANALYZE workspace_records_workspacerecord")


def deep_cursors(organization_id: int) -> tuple[str, str]:
    """The project's and DRF's cursor for the page that starts at row DEEP_ROW (newest
    first), computed the way each encodes it."""
    import base64
    from urllib.parse import urlencode

    from workspace_records.models import WorkspaceRecord

    row = (
        WorkspaceRecord.objects.for_organization(organization_id)
        .order_by("-created_at", "-id")
        .values("id", "created_at")[DEEP_ROW - 1]
    )
    ours = base64.urlsafe_b64encode(f"{row['created_at'].isoformat()}|{row['id']}".encode())
    drf = base64.b64encode(urlencode({"p": str(row["created_at"])}).encode())
    return ours.decode().rstrip("="), drf.decode()


def grant_pro(organization_id: int) -> None:
    """A plan that bounds records (Pro: 10,000), so creates take the limit path."""
    from billing.models import Grant, SourceType

    Grant.objects.for_organization(organization_id).get_or_create(
        organization_id=organization_id,
        capability="feature.pro",
        defaults={"source": "bench", "source_type": SourceType.MANUAL, "plan": "Pro"},
    )


def prepare(database_url: str) -> tuple[int, str, int]:
    """Migrate, seed once, and return (organization id, API key, queries per request)."""
    env = server_env(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from organizations.models import Organization
    from workspace_records.models import WorkspaceRecord

    if Organization.objects.filter(slug__startswith="bench-").count() < ORGANIZATIONS:
        print(f"seeding {ORGANIZATIONS} x {RECORDS_PER_ORGANIZATION} records…", flush=True)
        for n in range(ORGANIZATIONS):
            organization, _ = Organization.objects.get_or_create(
                slug=f"bench-{n}", defaults={"name": f"Bench {n}"}
            )
            WorkspaceRecord.objects.for_organization(organization.pk).delete()
            WorkspaceRecord.objects.bulk_create(
                (
                    WorkspaceRecord(organization=organization, title=f"Record {i}", body="x" * 80)
                    for i in range(RECORDS_PER_ORGANIZATION)
                ),
                batch_size=5_000,
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE workspace_records_workspacerecord")
    organization = Organization.objects.get(slug="bench-42")
    raw_key = bench_key(organization.pk, ["workspace.records.read"])
    client = Client()
    headers = {"Authorization": f"Bearer {raw_key}"}
    client.get("/api/v1/records", headers=headers)  # warm: last-used time written
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/records", headers=headers)
    assert response.status_code == 200, response.content
    assert len(response.json()["records"]) == 50
    return organization.pk, raw_key, len(queries.captured_queries)


def load(port: int, path: str, headers: dict[str, str], seconds: float, threads: int) -> float:
    """Requests per second over `seconds`, from `threads` keep-alive connections."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            counts[slot] += 1

    seconds_taken = in_threads(worker, threads)  # before summing: the workers fill counts
    return sum(counts) / seconds_taken


def in_threads(worker: Callable[[int], None], threads: int) -> float:
    """Run `worker(slot)` in `threads` threads at once; the seconds they took."""
    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.monotonic() - started


# One process each way, so both endpoints are measured in the same process model.
SERVERS = {
    "daphne": lambda port: [
        sys.executable,
        "-m",
        "daphne",
        "-v",
        "0",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "config.asgi:application",
    ],
    "gunicorn": lambda port: [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "1",
        "--log-level",
        "warning",
        "-b",
        f"127.0.0.1:{port}",
        "config.wsgi:application",
    ],
}


def sample(port: int, path: str, headers: dict[str, str], count: int) -> list[float]:
    """Seconds per request, one keep-alive connection, one request at a time."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        times.append(time.perf_counter() - started)
    return times


def post_load(
    port: int, path: str, headers: dict[str, str], seconds: float, threads: int
) -> tuple[float, dict[int, int]]:
    """Creates per second over `seconds` from `threads` connections, and the statuses."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    headers = {**headers, "Content-Type": "application/json"}

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.monotonic() < stop:
            body = json.dumps({"title": f"created {slot}.{n}"})
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
            n += 1

    seconds_taken = in_threads(worker, threads)
    return sum(statuses.values()) / seconds_taken, statuses


def rollbacks() -> int:
    """Transactions rolled back in the bench database so far (a retried attempt is one).
    PostgreSQL publishes a backend's counts within about a second."""
    from django.db import connection

    time.sleep(1.5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(cursor.fetchone()[0])


def worker_rss(server: subprocess.Popen[bytes]) -> int:
    import psutil

    process = psutil.Process(server.pid)
    workers = process.children() or [process]  # gunicorn's one worker, or daphne itself
    return int(workers[0].memory_info().rss)


def p50_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def measure(
    name: str, database_url: str, setup: Setup, args: argparse.Namespace
) -> dict[str, object]:
    from workspace_records.models import WorkspaceRecord

    port = free_port()
    server = subprocess.Popen(SERVERS[name](port), cwd=ROOT, env=server_env(database_url))  # noqa: S603
    report: dict[str, object] = {"server": f"{name}, 1 process"}
    try:
        wait_until_up(port)
        auth = {"Authorization": f"Bearer {setup.key}"}
        paths = {
            "project": ("/api/v1/records", auth),
            "raw": (f"/bench/records-raw/{setup.organization_id}", {}),
            "drf": ("/bench/peers/records", auth),
        }
        for path, headers in paths.values():  # warm all three
            load(port, path, headers, 1, args.threads)
        memory_before = worker_rss(server)
        served = 0.0
        results: dict[str, list[float]] = {kind: [] for kind in paths}
        for _ in range(args.rounds):
            for kind, (path, headers) in paths.items():
                rate = load(port, path, headers, args.seconds, args.threads)
                results[kind].append(rate)
                served += rate * args.seconds
        memory_after = worker_rss(server)
        best = {kind: max(rates) for kind, rates in results.items()}
        report["list_page_1_rps"] = {kind: round(rate, 1) for kind, rate in best.items()}
        report["rounds"] = {k: [round(v, 1) for v in vs] for k, vs in results.items()}
        report["project_vs_drf"] = round(best["project"] / best["drf"], 2)
        report["project_vs_raw"] = round(best["project"] / best["raw"], 3)
        report["worker_memory_kb_per_1000_requests"] = round(
            (memory_after - memory_before) / 1024 / (served / 1000), 2
        )
        report["worker_memory_mb"] = [
            round(memory_before / 2**20, 1),
            round(memory_after / 2**20, 1),
        ]

        # A deep cursor page against page 1, in the organization of a million records.
        big = {"Authorization": f"Bearer {setup.large_key}"}
        ours, theirs = setup.deep_cursors
        pages = {
            "project_page_1": ("/api/v1/records", big),
            "project_deep": (f"/api/v1/records?cursor={ours}", big),
            "drf_page_1": ("/bench/peers/records", big),
            "drf_deep": (f"/bench/peers/records?cursor={theirs}", big),
        }
        timed = {kind: p50_ms(sample(port, path, h, 5)[-1:] + sample(port, path, h, args.samples))
                 for kind, (path, h) in pages.items()}  # fmt: skip
        report["large_organization_p50_ms"] = timed
        report["project_deep_vs_page_1"] = round(timed["project_deep"] / timed["project_page_1"], 2)
        report["drf_deep_vs_page_1"] = round(timed["drf_deep"] / timed["drf_page_1"], 2)

        # Creates: 1 and 8 clients, alternating rounds like the list, best round kept;
        # the project's on a plan that bounds records (and DRF's checking the same limit).
        creator = {"Authorization": f"Bearer {setup.create_key}"}
        creates: dict[str, Creates] = {}
        for threads in (1, 8):
            for _ in range(args.rounds):
                for kind, path in (("project", "/api/v1/records"), ("drf", "/bench/peers/records")):
                    WorkspaceRecord.objects.for_organization(setup.create_organization_id).delete()
                    before = rollbacks()
                    rate, statuses = post_load(port, path, creator, args.seconds, threads)
                    runs = creates.setdefault(f"{kind}_{threads}_clients", Creates())
                    runs.add(rate, statuses, rollbacks() - before)
        report["creates"] = {name: runs.report() for name, runs in creates.items()}
        for threads in (1, 8):
            project, drf = creates[f"project_{threads}_clients"], creates[f"drf_{threads}_clients"]
            report[f"create_project_vs_drf_{threads}_clients"] = round(project.best / drf.best, 2)
    finally:
        server.terminate()
        server.wait(10)
    return report


def memory(database_url: str, setup: Setup, requests: int = 30_000) -> dict[str, object]:
    """Each list endpoint alone in a fresh gunicorn worker, one request at a time: the
    worker's RSS every 2,000 requests, and its slope over the last third (after
    warm-up) in KB per 1,000 requests."""
    headers = {"Authorization": f"Bearer {setup.key}"}
    report: dict[str, object] = {}
    for kind, path in (("project", "/api/v1/records"), ("drf", "/bench/peers/records")):
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            SERVERS["gunicorn"](port), cwd=ROOT, env=server_env(database_url)
        )
        try:
            wait_until_up(port)
            series = []
            for _ in range(requests // 2000):
                sample(port, path, headers, 2000)
                series.append(worker_rss(server) / 1024)
        finally:
            server.terminate()
            server.wait(10)
        last = series[-(len(series) // 3) :]
        slope = (last[-1] - last[0]) / (2 * (len(last) - 1))  # KB per 1,000 requests
        report[kind] = {
            "rss_mb_every_2000": [round(kb / 1024, 2) for kb in series],
            "kb_per_1000_requests_last_third": round(slope, 2),
        }
    return report


@dataclass
class Creates:
    """One endpoint's create rounds."""

    rounds: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    rolled_back: int = 0

    def add(self, rate: float, statuses: dict[int, int], rolled_back: int) -> None:
        self.rounds.append(round(rate, 1))
        for status, count in statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.rolled_back += rolled_back

    @property
    def best(self) -> float:
        return max(self.rounds)

    def report(self) -> dict[str, object]:
        return {
            "creates_per_s": self.best,
            "rounds": self.rounds,
            "statuses": self.statuses,
            "rolled_back": self.rolled_back,
        }


@dataclass(frozen=True)
class Setup:
    organization_id: int
    key: str
    queries: int
    large_key: str
    deep_cursors: tuple[str, str]
    create_organization_id: int
    create_key: str


def set_up(database_url: str) -> Setup:
    organization_id, key, queries = prepare(database_url)
    from organizations.models import Organization

    large, _ = Organization.objects.get_or_create(slug="bench-large", defaults={"name": "Large"})
    seed_large(large.pk)
    create, _ = Organization.objects.get_or_create(slug="bench-create", defaults={"name": "C"})
    grant_pro(create.pk)
    permissions = ["workspace.records.read", "workspace.records.create"]
    return Setup(
        organization_id,
        key,
        queries,
        bench_key(large.pk, ["workspace.records.read"]),
        deep_cursors(large.pk),
        create.pk,
        bench_editor_key(create.pk, permissions),
    )


def bench_editor_key(organization_id: int, permissions: list[str]) -> str:
    """A key whose creator may create records (bench_key's creator is a viewer)."""
    from kernel.permissions import Role
    from organizations.models import ApiKey, Membership

    raw = bench_key(organization_id, permissions, name="bench-create")
    creator = ApiKey.objects.for_organization(organization_id).filter(name="bench-create")
    Membership.objects.for_organization(organization_id).filter(
        user_id__in=creator.values("created_by_id")
    ).update(role=Role.MEMBER)
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8, help="per measurement")
    parser.add_argument("--threads", type=int, default=4, help="client connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    parser.add_argument("--samples", type=int, default=200, help="requests per page latency")
    args = parser.parse_args()

    ensure_peers()
    database_url = bench_database_url()
    setup = set_up(database_url)
    report = {
        "client": f"{args.threads} keep-alive connections, {args.rounds} x {args.seconds}s each",
        "sql_queries_per_request": setup.queries,
        "servers": [measure(name, database_url, setup, args) for name in args.servers],
        "worker_memory_gunicorn_each_endpoint_alone": memory(database_url, setup),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
