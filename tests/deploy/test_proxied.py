"""The deployment recipe's smoke test, through the real proxy: nginx in front of gunicorn
(WSGI) and daphne (/ws/), with the task worker, in production mode. `.ci/proxied` starts
them all and runs this module; elsewhere it is skipped.

Only HTTP, WebSocket and SMTP from the outside, as a browser and an API client would:
nothing here reads the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest
import websockets

from tests.smtp import SmtpSink, smtp_sink

BASE = os.environ.get("PROXIED_BASE_URL", "")  # https://127.0.0.1:PORT, nginx's TLS side
PLAIN = os.environ.get("PROXIED_HTTP_URL", "")  # http://127.0.0.1:PORT, nginx's plain side
CA = os.environ.get("PROXIED_CA", "")  # the certificate nginx serves (self-signed)
SMTP_PORT = int(os.environ.get("PROXIED_SMTP_PORT", "0"))  # where EMAIL_URL points

pytestmark = pytest.mark.skipif(not BASE, reason="run by .ci/proxied (PROXIED_BASE_URL)")

PASSWORD = "a-Long-and-Unusual-passphrase-42"
EMAIL = f"owner-{os.getpid()}@example.com"


def tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=CA)


def browser() -> httpx.Client:
    return httpx.Client(base_url=BASE, verify=tls(), timeout=10)


def csrf_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def submit(client: httpx.Client, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
    """Load the form's page, then post it as a browser would (token, Origin, Referer)."""
    token = csrf_token(client.get(path))
    return client.post(
        path,
        data={"csrfmiddlewaretoken": token, **data},
        headers={"Origin": BASE, "Referer": f"{BASE}{path}"},
    )


def wait_for_mail(sink: SmtpSink, to: str, timeout: float = 30) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sink.messages:
            if to in str(message["To"]):
                return message
        time.sleep(0.2)
    raise AssertionError(f"no email to {to} within {timeout} s")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpSink]:
    """The mail server of EMAIL_URL: the worker delivers the app's emails here."""
    with smtp_sink(SMTP_PORT) as sink:
        yield sink


@pytest.fixture(scope="module")
def owner(mail: SmtpSink) -> Iterator[httpx.Client]:
    """Someone who signed up, verified their address from the email (sent by the worker),
    signed in with their password in a new session and created an organization."""
    with browser() as signup:
        response = submit(
            signup,
            "/accounts/signup/",
            {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302, response.text[:500]

    # The link was built from the request: Host (with its port) and the scheme reached
    # the app through the proxy.
    body = text_of(wait_for_mail(mail, EMAIL))
    match = re.search(rf"{re.escape(BASE)}(/accounts/confirm-email/\S+)", body)
    assert match, body
    with browser() as confirm:
        assert submit(confirm, match.group(1), {}).status_code == 302

    client = browser()
    response = submit(client, "/accounts/login/", {"login": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.text[:500]
    assert submit(client, "/organization/new/", {"name": "Proxied"}).status_code == 302
    yield client
    client.close()


def test_health_through_the_proxy():
    with browser() as client:
        response = client.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"


def test_plain_http_is_redirected_to_https():
    response = httpx.get(f"{PLAIN}/accounts/login/?next=/")
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://127.0.0.1")
    assert response.headers["location"].endswith("/accounts/login/?next=/")


def test_the_app_sees_https_and_sends_secure_cookies():
    with browser() as client:
        response = client.get("/accounts/login/")
    assert response.status_code == 200  # no redirect loop: X-Forwarded-Proto was trusted
    assert "max-age=" in response.headers["strict-transport-security"]
    assert "secure" in response.headers["set-cookie"].lower()


def test_static_files_are_served_by_nginx_with_long_cache_headers():
    with browser() as client:
        page = client.get("/accounts/login/").text
        hashed = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
        assert hashed, page[:500]
        response = client.get(hashed.group(1), headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        # nginx's header, not WhiteNoise's (max-age=315360000): the app never saw it.
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-encoding"] == "gzip"  # the precompressed file
        assert response.headers["x-content-type-options"] == "nosniff"

        unhashed = client.get(re.sub(r"\.[0-9a-f]{12}\.css$", ".css", hashed.group(1)))
        assert unhashed.status_code == 200
        assert unhashed.headers["cache-control"] == "public, max-age=3600"
        assert client.get("/static/nothing-here.css").status_code == 404


def test_sign_up_email_verify_and_sign_in(owner: httpx.Client):
    me = owner.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == EMAIL


@pytest.fixture(scope="module")
def api_key(owner: httpx.Client) -> str:
    response = submit(
        owner,
        "/organization/api-keys/",
        {"name": "smoke", "permissions": ["member.read"], "expires_in_days": "30"},
    )
    assert response.status_code == 302, response.text[:500]
    match = re.search(r'id="created-key">([^<]+)<', owner.get("/organization/api-keys/").text)
    assert match
    return match.group(1)


def test_an_api_call_with_the_key(api_key: str):
    with browser() as client:
        response = client.get("/api/v1/members", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200, response.text
    assert [member["user"]["email"] for member in response.json()] == [EMAIL]


async def test_a_live_update_over_the_socket_through_the_proxy(owner: httpx.Client):
    # As the page does: the session cookie, and the site's own Origin (checked against
    # the forwarded scheme and the Host). The kernel's own domains only: the workspace
    # demo may be removed.
    cookies = "; ".join(f"{name}={value}" for name, value in owner.cookies.items())
    async with websockets.connect(
        f"{BASE.replace('https', 'wss', 1)}/ws/",
        ssl=tls(),
        origin=websockets.Origin(BASE),
        additional_headers={"Cookie": cookies},
    ) as socket:
        await socket.send(json.dumps({"type": "subscribe", "id": "s1", "query": "members.list"}))
        first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert first["type"] == "result", first

        # A write through gunicorn reaches the subscriber connected to daphne.
        def rename() -> httpx.Response:
            return submit(
                owner,
                "/account/profile/",
                {"display_name": "Through the proxy", "time_zone": "UTC"},
            )

        renamed = await asyncio.to_thread(rename)
        assert renamed.status_code == 302, renamed.text[:500]
        update = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert update["type"] == "result", update
        assert [member["user"]["name"] for member in update["value"]] == ["Through the proxy"]


def test_the_app_records_the_real_client_behind_the_proxy_not_a_spoofed_one(
    owner: httpx.Client,
):
    # Another loopback address than nginx's own, so the client and the proxy differ.
    transport = httpx.HTTPTransport(local_address="127.0.0.2", verify=tls())
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    with httpx.Client(base_url=BASE, transport=transport, headers=spoofed) as client:
        response = submit(client, "/accounts/login/", {"login": EMAIL, "password": PASSWORD})
        assert response.status_code == 302, response.text[:500]
        sessions = client.get("/accounts/sessions/").text
    assert "127.0.0.2" in sessions
    assert "203.0.113.9" not in sessions


def test_an_uploaded_avatar_is_served_by_nginx_from_the_media_folder(owner: httpx.Client):
    from tests.accounts.images import png

    image = png()
    token = csrf_token(owner.get("/account/profile/"))
    response = owner.post(
        "/account/profile/",
        data={"csrfmiddlewaretoken": token, "display_name": "Owner", "time_zone": "UTC"},
        files={"avatar": ("me.png", image, "image/png")},
        headers={"Origin": BASE, "Referer": f"{BASE}/account/profile/"},
    )
    assert response.status_code == 302, response.text[:500]
    match = re.search(r'src="(/media/avatars/[^"]+)"', owner.get("/account/profile/").text)
    assert match
    served = owner.get(match.group(1))  # the app serves no media in production: nginx does
    assert served.status_code == 200
    assert served.content == image
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


def test_each_request_gets_the_proxys_id_not_the_clients():
    with browser() as client:
        response = client.get("/healthz", headers={"X-Request-ID": "chosen-by-the-client"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])  # nginx's $request_id


def test_metrics_answer_through_the_proxy_with_the_token_only():
    token = os.environ["METRICS_TOKEN"]
    with browser() as client:
        assert client.get("/metrics").status_code == 401
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text[:500]
    assert "http_requests_total" in response.text
