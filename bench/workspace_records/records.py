"""Benchmark: GET /api/v1/records (API key, 50 rows) against a bare raw-cursor endpoint
running the same SQL, in the same server and process model (one daphne process).

    make bench          # or: .venv/bin/python bench/workspace_records/records.py --seconds 10

Seeds 100 organizations x 1,000 records into a separate `<name>_bench` database (once),
starts daphne with BENCHMARK_ENDPOINTS=true, drives both endpoints with keep-alive
client threads, and prints requests/s, their ratio and SQL queries per request.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database_url, bench_key, free_port, server_env, wait_until_up  # noqa: E402

ORGANIZATIONS, RECORDS_PER_ORGANIZATION = 100, 1_000


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

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


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


def measure(
    name: str, database_url: str, organization_id: int, raw_key: str, args: argparse.Namespace
) -> dict[str, object]:
    port = free_port()
    server = subprocess.Popen(SERVERS[name](port), cwd=ROOT, env=server_env(database_url))  # noqa: S603
    try:
        wait_until_up(port)
        real = ("/api/v1/records", {"Authorization": f"Bearer {raw_key}"})
        bare: tuple[str, dict[str, str]] = (f"/bench/records-raw/{organization_id}", {})
        for path, headers in (real, bare):  # warm both
            load(port, path, headers, 1, args.threads)
        results: dict[str, list[float]] = {"real": [], "bare": []}
        for _ in range(args.rounds):
            results["bare"].append(load(port, *bare, args.seconds, args.threads))
            results["real"].append(load(port, *real, args.seconds, args.threads))
    finally:
        server.terminate()
        server.wait(10)
    best_real, best_bare = max(results["real"]), max(results["bare"])
    return {
        "server": f"{name}, 1 process",
        "records_api_rps": round(best_real, 1),
        "raw_cursor_rps": round(best_bare, 1),
        "ratio": round(best_real / best_bare, 3),
        "rounds": {k: [round(v, 1) for v in vs] for k, vs in results.items()},
        "spread_real": round(statistics.pstdev(results["real"]), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8, help="per measurement")
    parser.add_argument("--threads", type=int, default=4, help="client connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    args = parser.parse_args()

    database_url = bench_database_url()
    organization_id, raw_key, queries = prepare(database_url)
    report = {
        "client": f"{args.threads} keep-alive connections, {args.rounds} x {args.seconds}s each",
        "sql_queries_per_request": queries,
        "servers": [
            measure(name, database_url, organization_id, raw_key, args) for name in args.servers
        ],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
