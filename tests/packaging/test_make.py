"""`make install`/`make run` without a usable Python fail once, clearly; `make run`
stops its embedded PostgreSQL on SIGTERM (what `make` forwards) and on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDS = "this project needs Python 3.12, 3.13 or 3.14"


def _python_311() -> str | None:
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 11))"
    for candidate in ("python3.11", "/usr/bin/python3"):
        path = shutil.which(candidate)
        if path and subprocess.run([path, "-c", check]).returncode == 0:
            return path
    return None


@pytest.fixture
def bare_checkout(tmp_path: Path) -> Path:
    """What `make install` reads, without a venv."""
    copy = tmp_path / "checkout"
    (copy / "scripts").mkdir(parents=True)
    (copy / "requirements").mkdir()
    shutil.copy(ROOT / "Makefile", copy)
    shutil.copy(ROOT / "scripts" / "find-python", copy / "scripts")
    shutil.copy(ROOT / "requirements" / "development.lock", copy / "requirements")
    return copy


@pytest.mark.parametrize("target", ["install", "run"])
@pytest.mark.parametrize("chosen", ["searched", "PYTHON"])
def test_without_python_312_make_fails_once_and_says_why(
    bare_checkout: Path, tmp_path: Path, target: str, chosen: str
):
    python_311 = _python_311()
    if python_311 is None:
        pytest.skip("no Python 3.11 on this machine to stand for an old one")
    environment = {
        # No pyenv, and only the system's folders: where this machine has only 3.11.
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
    }
    if chosen == "PYTHON":
        environment["PYTHON"] = python_311
    elif subprocess.run(["scripts/find-python"], cwd=bare_checkout, env=environment,
                        capture_output=True).returncode == 0:  # fmt: skip
        pytest.skip("this machine has a Python 3.12+ in the system's folders")

    result = subprocess.run(
        ["make", target], cwd=bare_checkout, env=environment,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output.count(NEEDS) == 1, output
    assert "3.11" in output
    assert "Permission denied" not in output
    assert ": not found" not in output
    assert not (bare_checkout / ".venv").exists()


def _port() -> int:
    """A free port in this project's range for servers tests start by hand."""
    for port in range(9150, 9200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 9150-9199")


def _postmaster(data_dir: Path) -> psutil.Process | None:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    try:
        return psutil.Process(int(pid_file.read_text().split()[0]))
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return None


def _embedded_mode(data_dir: Path) -> dict[str, str]:
    """make run as a fresh checkout runs it: no DATABASE_URL, no Redis, no test app."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "EXTRA_INSTALLED_APPS", "MAKEFLAGS")
    }
    return environment | {"DATA_DIR": str(data_dir), "DEV_MAIL_DIR": str(data_dir / "mail")}


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """One embedded database for both runs (the second finds it migrated).

    Not under pytest's base folder: every pytest session run as root makes
    /tmp/pytest-of-root private again, and the server's own user must reach its data."""
    folder = Path(tempfile.mkdtemp(prefix="saas-make-run-"))
    yield folder
    postmaster = _postmaster(folder)
    if postmaster is not None:  # a failed test's leftover: never leave a server behind
        postmaster.send_signal(signal.SIGINT)
        psutil.wait_procs([postmaster], timeout=15)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("stop", ["SIGTERM to make", "Ctrl-C (SIGINT to the terminal's group)"])
def test_stopping_make_run_stops_the_embedded_postgres(data_dir: Path, stop: str):
    port = _port()
    environment = _embedded_mode(data_dir)
    log = data_dir / f"make-run-{port}.log"
    with log.open("wb") as output:
        # A session of its own, as a terminal gives: make leads the foreground group.
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}", "HOST=127.0.0.1"],
            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_health(port, make, log)
        postmaster = _postmaster(data_dir)
        assert postmaster is not None
        started = [make.pid, *(child.pid for child in psutil.Process(make.pid).children(True))]
        assert len(started) >= 3  # make, manage.py dev, runserver (and its reloaded child)

        if stop.startswith("SIGTERM"):
            make.send_signal(signal.SIGTERM)
        else:
            os.killpg(make.pid, signal.SIGINT)

        make.wait(timeout=30)
        _, alive = psutil.wait_procs([postmaster], timeout=15)
        assert alive == [], "the embedded PostgreSQL is still running"
        assert [pid for pid in started if psutil.pid_exists(pid)] == []
        assert not (data_dir / "postgres" / "postmaster.pid").exists()
        assert (data_dir / "postgres" / ".handle_pids.json").read_text() == "[]"
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()


def test_a_child_that_fails_stops_make_run_and_the_embedded_postgres(data_dir: Path):
    environment = _embedded_mode(data_dir)
    # runserver refuses the address at once; the supervisor must not outlive it.
    result = subprocess.run(
        ["make", "--no-print-directory", "run", "PORT=not-a-port"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
        start_new_session=True,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "is not a valid port number" in output
    assert "1 of the development processes exited with an error." in output
    assert _postmaster(data_dir) is None
    assert (data_dir / "postgres" / ".handle_pids.json").read_text() == "[]"


def _wait_for_health(port: int, make: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180  # a first run creates and migrates the database
    while time.monotonic() < deadline:
        assert make.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no /healthz within 180 s:\n{log.read_text()}")
