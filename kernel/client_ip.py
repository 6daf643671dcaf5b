"""The client's address, for rate limits, the audit log and the session list.

Without a proxy it is the peer of the connection (REMOTE_ADDR, or a socket scope's
`client`). Behind `TRUSTED_PROXIES` proxies that each append the address they were
reached from to `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`), it is the
entry written by the outermost of them: the N-th from the right. Entries further left
were sent by the client and are never believed. allauth reads the same count
(ALLAUTH_TRUSTED_PROXY_COUNT) and its adapter asks this module (accounts/adapter.py), so
its rate limits and ours see one address.

A header with fewer entries than proxies came through fewer of them (or straight to the
app): its leftmost entry was still written by a trusted proxy. allauth would refuse such a
request as misconfigured; here it is answered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    return _pick(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))


def scope_client_ip(scope: Mapping[str, Any]) -> str | None:
    """The same for a Channels connection scope (the socket)."""
    forwarded = [
        bytes(value).decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    peer = (scope.get("client") or (None,))[0]
    return _pick(peer, ",".join(forwarded) or None)


def _pick(peer: str | None, forwarded: str | None) -> str | None:
    hops: int = settings.TRUSTED_PROXIES
    if hops and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        address = _address(entries[-hops] if len(entries) >= hops else entries[0])
        if address is not None:
            return address
    return _address(peer)


def _address(value: str | None) -> str | None:
    """A valid IP address in its canonical form (a port or IPv6 brackets removed)."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
