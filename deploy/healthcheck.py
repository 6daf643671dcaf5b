"""Exit 0 when the app answers /healthz, 1 otherwise: the web container's health check.

    python deploy/healthcheck.py [URL]     (default http://127.0.0.1:8000/healthz)

It asks with the first of ALLOWED_HOSTS as Host, as the proxy would: Django refuses any
other. Standard library only, as the image has no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/healthz"
host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
if not url.startswith(("http://", "https://")):
    sys.exit(f"not an http(s) URL: {url}")
request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 (checked above)
try:
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    print(f"unhealthy: {error}", file=sys.stderr)
    sys.exit(1)
