"""gunicorn's settings for the web (WSGI) processes: `gunicorn -c deploy/gunicorn.conf.py`.

The image's default command and .ci/proxied both use this file; command-line options
(`--bind 127.0.0.1:9000`) override it. See docs/deployment.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

wsgi_app = "config.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]

# Sync workers: one request at a time each, behind nginx's buffering. Size it to the CPUs
# the process really has (a container's host may have many more), and mind PostgreSQL's
# max_connections: each worker holds its pool's DATABASE_POOL_MIN_SIZE connections.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# A worker silent this long is killed and replaced; nginx gives up at 60 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, requests in flight get this long to finish (a rolling restart).
graceful_timeout = 30
# nginx opens a connection per request to sync workers; a short keep-alive is enough.
keepalive = 5
# Recycle workers now and then (jittered, so not all at once): bounds slow leaks.
max_requests = 2000
max_requests_jitter = 200

# Only X-Forwarded-Proto, which nginx always sets itself, says a request came over HTTPS
# (Django reads it too: SECURE_PROXY_SSL_HEADER). Trusted from FORWARDED_ALLOW_IPS
# (gunicorn's variable; loopback by default).
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# The app logs one line per request itself, with its request id, user and organization
# (docs/operations.md), and nginx keeps the edge's access log: gunicorn's own would be a
# second line per request. GUNICORN_ACCESS_LOG=- turns it on (stdout), in this format.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    '%({x-forwarded-for}i)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}i)s %(p)s'
)
errorlog = "-"

# The workers' heartbeat files live in memory: a container's disk may be slow or read-only.
SHARED_MEMORY = "/dev/shm"  # noqa: S108 (per-worker files gunicorn creates itself)
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# gunicornc's control socket would sit in $HOME, shared by every gunicorn of that user.
control_socket_disable = True


# Metrics of several workers (docs/operations.md): each keeps its counts in files under
# PROMETHEUS_MULTIPROC_DIR, which must start empty: the master empties it before forking.
METRICS_DIRECTORY = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server: Any) -> None:
    if METRICS_DIRECTORY:
        os.makedirs(METRICS_DIRECTORY, exist_ok=True)  # it may be a mount: keep it, empty it
        for stale in Path(METRICS_DIRECTORY).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges leave the sums."""
    if METRICS_DIRECTORY:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
