"""Production refuses what would hurt: gunicorn and daphne run the system checks as they
load the application and refuse to serve on an error, naming the variable and the fix."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from config.checks import APP_LOAD_ERROR, refuse_to_serve_on_errors
from config.env import Env
from tests.config.test_settings import PRODUCTION_ENV, ROOT
from tests.servers import APP_NAME, _database_url, _wait_for_sessions_to_end, free_port

SERVERS = {
    "gunicorn": lambda port: [
        *("-m", "gunicorn", "--no-control-socket", "--workers", "1"),
        *("--bind", f"127.0.0.1:{port}", "config.wsgi:application"),
    ],
    "daphne": lambda port: [
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "config.asgi:application",
    ],
}
BAD_VARIABLES = {
    "DATABASE_POOL_MAX_SIZE": "lots",
    "SECURE_SSL_REDIRECT": "ture",
    "LIVE_CHANGES": "pol",
}


def production_env(
    variables: dict[str, str] | None = None, *, without: tuple[str, ...] = ()
) -> dict[str, str]:
    """The test run's environment in production mode (DEBUG off), with `variables`."""
    base = {key: value for key, value in os.environ.items() if key not in without}
    env = {**base, **PRODUCTION_ENV, "LOG_LEVEL": "warning", "PGAPPNAME": APP_NAME}
    env.update(variables or {})
    for name in without:
        env.pop(name, None)
    return env


def start(server: str, env: dict[str, str]) -> tuple[int, subprocess.Popen[str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *SERVERS[server](port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return port, process


def refused(server: str, env: dict[str, str]) -> tuple[int, str]:
    """Start the server and wait for it to give up: its exit status and what it printed."""
    _port, process = start(server, env)
    try:
        _out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, err


@contextmanager
def serving(server: str, env: dict[str, str]) -> Iterator[str]:
    port, process = start(server, env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"{base}/healthz", headers={"Host": "app.example.com"}
                )
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert response.status == 200
                    yield response.read().decode()
                    return
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"{server} exited ({process.returncode}): {process.stderr.read()}")  # type: ignore[union-attr]
                if time.monotonic() > deadline:
                    pytest.fail(f"{server} did not answer /healthz within 60 s")
                time.sleep(0.2)
    finally:
        process.terminate()
        process.communicate(timeout=20)
        _wait_for_sessions_to_end()


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_refuses_malformed_variables_naming_each_and_the_fix(server, db):
    status, err = refused(
        server, production_env({"DATABASE_URL": _database_url(), **BAD_VARIABLES})
    )

    assert status == APP_LOAD_ERROR, err
    assert "Refusing to start: the configuration has 3 errors." in err
    for variable, value in BAD_VARIABLES.items():
        assert f"{variable}={value!r}" in err
        assert f"Set {variable} to" in err  # the fix


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_in_production_refuses_to_start_without_database_url(server, tmp_path):
    env = production_env({"DATA_DIR": str(tmp_path)}, without=("DATABASE_URL",))
    status, err = refused(server, env)

    assert status == APP_LOAD_ERROR, err
    assert "DATABASE_URL is not set" in err
    assert "Set DATABASE_URL=postgres://" in err
    assert not (tmp_path / "postgres").exists()  # no embedded server was started


def test_the_task_worker_refuses_them_too(db):
    """`manage.py worker` is a management command: Django runs the checks before it."""
    result = subprocess.run(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=production_env({"DATABASE_URL": _database_url(), **BAD_VARIABLES}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    for variable in BAD_VARIABLES:
        assert f"{variable}: (config.E001)" in result.stderr


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_with_a_good_production_configuration_serves(server, db):
    with serving(server, production_env({"DATABASE_URL": _database_url()})) as health:
        assert '"database": "ok"' in health


def run_check(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_a_missing_database_url_in_production():
    result = run_check(
        "--deploy", "--fail-level", "WARNING", env=production_env(without=("DATABASE_URL",))
    )

    assert result.returncode != 0
    assert "DATABASE_URL: (config.E001) DATABASE_URL is not set" in result.stderr


@pytest.mark.parametrize(
    ("hosts", "refused"),
    [
        ("app.example.com", True),
        ("app.example.com,localhost", True),
        ("127.0.0.1,localhost", False),
    ],
)
def test_production_refuses_benchmark_endpoints_unless_it_answers_loopback_only(hosts, refused):
    result = run_check(env=production_env({"BENCHMARK_ENDPOINTS": "true", "ALLOWED_HOSTS": hosts}))

    assert ("BENCHMARK_ENDPOINTS: (config.E001)" in result.stderr) is refused, result.stderr
    assert (result.returncode != 0) is refused


def test_the_start_up_check_passes_a_good_configuration_silently():
    stream = io.StringIO()
    refuse_to_serve_on_errors(stream)
    assert stream.getvalue() == ""


def test_the_start_up_check_exits_on_an_error_and_says_why(settings):
    env = Env({"DATABASE_POOL_TIMEOUT": "soon"})
    env.integer("DATABASE_POOL_TIMEOUT", 10, minimum=1)
    settings.CONFIG_PROBLEMS = env.problems
    stream = io.StringIO()

    with pytest.raises(SystemExit) as exit:
        refuse_to_serve_on_errors(stream)

    assert exit.value.code == APP_LOAD_ERROR
    assert "the configuration has 1 error." in stream.getvalue()
    assert "DATABASE_POOL_TIMEOUT: (config.E001)" in stream.getvalue()
    assert "HINT: Set DATABASE_POOL_TIMEOUT to a whole number >= 1" in stream.getvalue()
