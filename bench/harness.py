"""What every benchmark shares: its own database, a production-like server environment,
free ports, a server that is up, and an API key for a member of a given role."""

from __future__ import annotations

import http.client
import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-only-secret-key-bench-only-secret-key-bench-only"  # noqa: S105


def bench_database_url() -> str:
    sys.path.insert(0, str(ROOT))
    url = os.environ.get("DATABASE_URL")
    if not url:
        from config.embedded_postgres import embedded_database_url

        url = embedded_database_url(ROOT / ".data")
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "saas_starter"
    bench = parts._replace(path=f"/{name}_bench")
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [f"{name}_bench"]
        ).fetchone():
            connection.execute(f'CREATE DATABASE "{name}_bench"')
    return urlunsplit(bench)


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "EMAIL_URL": "locmem://",
        "BENCHMARK_ENDPOINTS": "true",
        "API_KEY_RATE_LIMIT_PER_MINUTE": "100000000",
        "LOG_LEVEL": "warning",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not come up")


def bench_key(organization_id: int, permissions: list[str], name: str = "bench") -> str:
    """An API key acting as a viewer of the organization (Django must be set up)."""
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from kernel.permissions import Role
    from organizations.models import Membership
    from organizations.mutations import api_key_issue

    user = User.objects.create_user(f"{name}-{get_random_string(12).lower()}@bench.invalid")
    Membership.objects.create(organization_id=organization_id, user=user, role=Role.VIEWER)
    _key, raw = api_key_issue(
        organization_id=organization_id, name=name, permissions=permissions, created_by_id=user.pk
    )
    return raw
