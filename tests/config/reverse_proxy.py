"""A real reverse proxy a test owns: Debian's nginx on a loopback port, in front of an app
server, appending the address each client connected from to X-Forwarded-For (as
deployments do). Clients can connect from any 127.0.0.0/8 address, so one test has many
clients with addresses of their own."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

CONFIG = """
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
    )
    if found is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return found


@contextmanager
def nginx_in_front_of(upstream: str, root: Path) -> Iterator[str]:
    """Yield the proxy's base URL; `upstream` is host:port of the app server."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "nginx.conf"
    # As root, nginx's workers would run as nobody, who cannot enter pytest's tmp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    config.write_text(CONFIG.format(user=user, root=root, port=port, upstream=upstream))
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(root), "-c", str(config), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail(f"nginx exited: {process.stderr.read()}")  # type: ignore[union-attr]
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not answer within 20 s")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def client_from(address: str, base: str) -> httpx.Client:
    """An HTTP client whose connections come from `address` (any 127.x.y.z)."""
    return httpx.Client(
        base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=30
    )
