"""What the site's own templates know about the product (not the tenant)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port


def site(request: HttpRequest) -> dict[str, Any]:
    return {"site_name": settings.SITE_NAME, "debug": settings.DEBUG, **passkey_host(request)}


def passkey_host(request: HttpRequest) -> dict[str, Any]:
    """WebAuthn refuses an IP address as the relying party id, so passkeys need a host
    name: on an IP, the passkey pages say so and link the same page on localhost."""
    domain, port = split_domain_port(request.get_host())
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return {"host_is_ip": False}
    localhost = f"{request.scheme}://localhost{':' + port if port else ''}{request.get_full_path()}"
    return {"host_is_ip": True, "localhost_url": localhost}
