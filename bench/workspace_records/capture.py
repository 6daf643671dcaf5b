"""Benchmark: the write cost of change capture (kernel/change_capture.py).

    .venv/bin/python bench/workspace_records/capture.py      # uses the <database>_bench database

Creates records through the real `record_create` mutation, alternating rounds with the
capture triggers on the records table and with them dropped, and prints writes per
second for both and the overhead — with one writer, and with several concurrent writers
(threads, one connection each), since `NOTIFY` serializes commits on a global lock. The
triggers are reinstalled at the end.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database_url, server_env  # noqa: E402

ORGANIZATIONS = 8


def main(writes: int = 400, rounds: int = 3, concurrency: tuple[int, ...] = (1, 4, 8)) -> None:
    database_url = bench_database_url()
    os.environ.update(server_env(database_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    import psycopg

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from kernel.actors import actor_for
    from kernel.change_capture import install_triggers
    from kernel.door import call
    from kernel.models import Change
    from kernel.permissions import Role
    from kernel.sources import MembershipRecord
    from organizations.models import Membership, Organization
    from workspace_records.models import WorkspaceRecord
    from workspace_records.mutations import record_create

    call_command("migrate", verbosity=0)
    # Writes spread over organizations so each stays under the free plan's record limit.
    actors = []
    for n in range(ORGANIZATIONS):
        organization, _ = Organization.objects.get_or_create(
            slug=f"bench-capture-{n}", defaults={"name": f"Capture {n}"}
        )
        owner, _ = User.objects.get_or_create(email=f"capture-{n}@bench.invalid")
        Membership.objects.get_or_create(
            organization=organization, user=owner, defaults={"role": Role.OWNER}
        )
        actors.append(actor_for(MembershipRecord(owner.pk, organization.pk, Role.OWNER)))
    table = WorkspaceRecord._meta.db_table

    def round_of_writes(writers: int) -> float:
        """One writer: the real mutation. Several: plain INSERT commits from that many
        connections at once (in threads; psycopg waits without the GIL), so the figure is
        the database's, where NOTIFY's commit lock would show."""
        WorkspaceRecord.objects.unscoped().filter(
            organization__slug__startswith="bench-capture-"
        ).delete()
        if writers == 1:
            started = time.perf_counter()
            for n in range(writes):
                call(record_create, actors[n % ORGANIZATIONS], {"title": f"w{n}"})
            return writes / (time.perf_counter() - started)

        def write(share: range) -> None:
            with psycopg.connect(database_url, autocommit=True) as own:
                for n in share:
                    own.execute(  # the table name is our model's, not input
                        f'INSERT INTO "{table}" (organization_id, title, status, body, '  # noqa: S608
                        "version, created_at, updated_at) "
                        "VALUES (%s, %s, 'open', '', 1, now(), now())",
                        [actors[n % ORGANIZATIONS].organization_id, f"w{n}"],
                    )

        threads = [
            threading.Thread(target=write, args=(range(w, writes * 4, writers),))
            for w in range(writers)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return writes * 4 / (time.perf_counter() - started)

    report: dict[str, object] = {"writes_per_round": writes}
    try:
        for writers in concurrency:
            results: dict[str, list[float]] = {"capture_on": [], "capture_off": []}
            for _ in range(rounds):
                install_triggers(apps.get_models())
                results["capture_on"].append(round_of_writes(writers))
                with connection.cursor() as cursor:
                    for suffix in ("ins", "upd", "del"):
                        cursor.execute(
                            f'DROP TRIGGER IF EXISTS "kernel_change_{suffix}" ON "{table}"'
                        )
                results["capture_off"].append(round_of_writes(writers))
            on, off = max(results["capture_on"]), max(results["capture_off"])
            report[f"{writers}_writers"] = {
                "capture_on_writes_per_s": round(on, 1),
                "capture_off_writes_per_s": round(off, 1),
                "overhead": f"{(1 - on / off) * 100:.1f}%",
                "rounds": {k: [round(v, 1) for v in vs] for k, vs in results.items()},
            }
    finally:
        install_triggers(apps.get_models())
        Change.objects.all().delete()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
