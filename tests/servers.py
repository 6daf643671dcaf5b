"""Real app server processes (daphne via runserver: HTTP, /ws/ and static files) on the
test database, for tests that need several processes or a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "saas-starter-test-server"
TEST_MAIL_DIR = ROOT / "test-artifacts" / "dev-mail"
"""Where the servers tests start keep their emails (git-ignored, with the screenshots)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_address() -> tuple[str, int] | None:
    """The test database's TCP address (None for the embedded server's socket)."""
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    return None if host.startswith("/") else (host, int(settings["PORT"] or 5432))


def _database_url(port: int | None = None) -> str:
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    user, password = settings["USER"], settings["PASSWORD"] or ""
    if host.startswith("/"):  # the embedded server's socket directory
        return f"postgresql://{user}:{password}@/{settings['NAME']}?host={host}"
    port = port or int(settings["PORT"] or 5432)
    return f"postgresql://{user}:{password}@{host}:{port}/{settings['NAME']}"


@contextmanager
def app_server() -> Iterator[str]:
    """Yield the base URL of a fresh server process; stop it afterwards."""
    with app_server_process() as (base, _process):
        yield base


@contextmanager
def app_server_process(
    database_port: int | None = None,
    stderr: IO[bytes] | int = subprocess.DEVNULL,
    **environment: str,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Yield the base URL and the process of a fresh server; stop it afterwards.
    `database_port`: reach the test database on another port (a proxy the test owns);
    `stderr`: where its log goes; `environment` overrides the defaults below."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": _database_url(database_port),
        "LOG_LEVEL": "warning",
        "PGAPPNAME": APP_NAME,  # so we can wait for its database sessions to end
        # The test run's emails stay out of the developer's /dev/mail/.
        "DEV_MAIL_DIR": str(TEST_MAIL_DIR),
        **environment,
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    # Its task worker, as `make run` starts one: emails arrive the way they do for real.
    worker = worker_process(env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the app server did not start") from None
                time.sleep(0.2)
        yield base, process
    finally:
        for child in (process, worker):
            child.terminate()
        for child in (process, worker):
            child.wait(10)
        _wait_for_sessions_to_end()


def worker_process(env: dict[str, str], **options: Any) -> subprocess.Popen[bytes]:
    """A `manage.py worker` that looks for ready tasks ten times a second."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **options,
    )


def _wait_for_sessions_to_end(timeout: float = 10) -> None:
    """A killed server's database sessions end a moment after it does; the test database
    cannot be dropped while they linger."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
