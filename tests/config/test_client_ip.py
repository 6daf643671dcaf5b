"""Real client addresses behind a reverse proxy (TRUSTED_PROXIES, kernel/client_ip.py):
per-IP limits apply per client, the audit log records the client, and a client cannot
choose its address by sending X-Forwarded-For."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.test import RequestFactory

from kernel import actors
from kernel.client_ip import client_ip, scope_client_ip
from kernel.permissions import Role
from organizations.models import AuditEvent, Organization
from tests.config.reverse_proxy import client_from, nginx_in_front_of
from tests.servers import app_server_process

MISMATCH = "The email address and/or password you specified are not correct."
LIMITED = "Too many failed login attempts."
FAILED_SIGN_INS_PER_IP = 10  # ACCOUNT_RATE_LIMITS["login_failed"]: 10/m/ip


# --- the helper --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, None, "10.0.0.9"),
        (0, "203.0.113.7", "10.0.0.9"),  # no proxy trusted: the header is the client's
        (1, None, "10.0.0.9"),  # reached directly
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what the client wrote is ignored
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),  # came through the inner proxy only
        (1, "203.0.113.7:51234", "203.0.113.7"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "2001:DB8::1", "2001:db8::1"),
        (1, "unknown", "10.0.0.9"),  # not an address: the peer
    ],
)
def test_the_client_is_the_entry_the_outermost_trusted_proxy_wrote(
    hops, forwarded, expected, settings
):
    settings.TRUSTED_PROXIES = hops
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", **headers)
    scope = {
        "client": ["10.0.0.9", 50000],
        "headers": [(b"x-forwarded-for", forwarded.encode())] if forwarded else [],
    }

    assert client_ip(request) == expected
    assert scope_client_ip(scope) == expected


def test_repeated_headers_count_as_one_list(settings):
    settings.TRUSTED_PROXIES = 1
    scope = {
        "client": ["10.0.0.9", 50000],
        "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"203.0.113.7")],
    }
    assert scope_client_ip(scope) == "203.0.113.7"


def test_the_socket_actor_carries_the_client_address(settings, member):
    settings.TRUSTED_PROXIES = 1
    membership = member(Role.MEMBER)
    scope = {
        "client": ["127.0.0.1", 50000],
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.4")],
        "user": membership.user,
        "session": {},
    }
    actor = actors.resolve(scope, organization_id=membership.organization_id)
    assert actor.auth.client_ip == "198.51.100.4"


# --- through nginx -----------------------------------------------------------------------


@contextmanager
def behind_nginx(tmp_path: Path, trusted_proxies: int) -> Iterator[str]:
    with (
        app_server_process(TRUSTED_PROXIES=str(trusted_proxies)) as (app, _process),
        nginx_in_front_of(app.removeprefix("http://"), tmp_path / "nginx") as proxy,
    ):
        yield proxy


def failed_sign_in(client: httpx.Client, attempt: int, *, spoof: str | None = None) -> str:
    """A sign-in with a wrong password (a new address each time, so that only the per-IP
    budget is spent); what the page says."""
    headers = {"X-Forwarded-For": spoof} if spoof else {}
    page = client.get("/accounts/login/", headers=headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post(
        "/accounts/login/",
        data={
            "login": f"nobody-{attempt}@example.com",
            "password": "not-the-password",
            "csrfmiddlewaretoken": token.group(1),
        },
        headers=headers,
    )
    assert response.status_code == 200, response.status_code
    if LIMITED in response.text:
        return LIMITED
    assert MISMATCH in response.text
    return MISMATCH


def spend_the_budget(client: httpx.Client, *, spoof: bool) -> list[str]:
    """Every failed sign-in a client may make, and one more; each with another spoofed
    X-Forwarded-For if `spoof`."""
    return [
        failed_sign_in(client, attempt, spoof=f"203.0.113.{attempt}" if spoof else None)
        for attempt in range(FAILED_SIGN_INS_PER_IP + 1)
    ]


EXHAUSTED = [MISMATCH] * FAILED_SIGN_INS_PER_IP + [LIMITED]


def rename_with_key(proxy: str, address: str, key: str, organization: Organization) -> None:
    with client_from(address, proxy) as client:
        response = client.patch(
            f"/api/v1/organizations/{organization.pk}",
            json={"name": f"Renamed from {address}"},
            headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": "6.6.6.6"},
        )
    assert response.status_code == 200, response.text


def renamed_from(organization: Organization) -> list[str | None]:
    events = (
        AuditEvent.objects.unscoped()
        .filter(organization_id=organization.pk, action="organization.rename")
        .order_by("id")
    )
    return [event.ip_address for event in events]


@pytest.mark.django_db(transaction=True)
def test_behind_a_trusted_proxy_each_client_has_its_own_address(tmp_path, org, make_key):
    key = make_key(Role.ADMIN)
    with behind_nginx(tmp_path, trusted_proxies=1) as proxy:
        with client_from("127.0.0.2", proxy) as first, client_from("127.0.0.3", proxy) as second:
            # The first client spends its budget, whatever X-Forwarded-For it sends: it
            # cannot claim an address past the proxy's entry.
            assert spend_the_budget(first, spoof=True) == EXHAUSTED
            # The second client, behind the same proxy, still has all of its own.
            assert failed_sign_in(second, 100) == MISMATCH

        rename_with_key(proxy, "127.0.0.5", key, org)

    assert renamed_from(org) == ["127.0.0.5"]  # the client, not the proxy or the spoof


@pytest.mark.django_db(transaction=True)
def test_without_trusted_proxies_x_forwarded_for_is_ignored(tmp_path, org, make_key):
    key = make_key(Role.ADMIN)
    with behind_nginx(tmp_path, trusted_proxies=0) as proxy:
        with client_from("127.0.0.2", proxy) as first, client_from("127.0.0.3", proxy) as second:
            # A spoofed header buys no fresh budget: the address is the connection's peer.
            assert spend_the_budget(first, spoof=True) == EXHAUSTED
            # ...which, for every client behind an untrusted proxy, is the proxy.
            assert failed_sign_in(second, 100) == LIMITED

        rename_with_key(proxy, "127.0.0.5", key, org)

    assert renamed_from(org) == ["127.0.0.1"]  # nginx's address: TRUSTED_PROXIES is unset
