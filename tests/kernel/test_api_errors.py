"""Every /api/ answer that is not a success is the one envelope, with its documented
status — whatever produced it: the URL resolver, the body, the caller, the database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test import Client
from psycopg_pool import PoolTimeout

from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.conftest import JSON, bearer
from tests.factories import MembershipFactory, OrganizationFactory
from tests.proxy import tcp_proxy
from tests.servers import app_server_process, database_address
from tests.tenant_app.models import Note

O = Role.OWNER


def envelope(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing", "/api/v1/test-notes/abc", "/api/v1/records/abc"]
)
def test_unknown_routes_and_bad_path_parameters_are_404(api, make_key, path):
    response = api.get(path, **bearer(make_key(O)))
    assert response.status_code == 404
    assert envelope(response)["code"] == "not_found"


def test_a_method_the_path_does_not_have_is_405_with_allow(api, make_key):
    response = api.put("/api/v1/test-notes", {}, content_type=JSON, **bearer(make_key(O)))
    assert response.status_code == 405
    assert envelope(response)["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


def test_a_body_over_the_limit_is_413(api, make_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"title": "x" * 2000})
    response = api.post("/api/v1/test-notes", body, content_type=JSON, **bearer(make_key(O)))
    assert response.status_code == 413
    assert envelope(response)["code"] == "payload_too_large"


def test_the_default_body_limit_is_413_too(api, make_key):
    body = json.dumps({"title": "x" * (3 * 1024 * 1024)})  # Django's default is 2.5 MB
    response = api.post("/api/v1/test-notes", body, content_type=JSON, **bearer(make_key(O)))
    assert (response.status_code, envelope(response)["code"]) == (413, "payload_too_large")


def test_a_body_that_is_not_json_is_415(api, make_key, org):
    response = api.post(
        "/api/v1/test-notes", "title=x", content_type="text/plain", **bearer(make_key(O))
    )
    assert response.status_code == 415
    assert envelope(response)["code"] == "unsupported_media_type"
    assert not Note.objects.for_organization(org.pk).exists()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"title": "\\ud800x"}', "title"),  # a lone surrogate, escaped in valid JSON
        (b'{"title": "caf\xe9"}', "__all__"),  # Latin-1, not UTF-8
        (b"{not json", "__all__"),
    ],
)
def test_text_that_cannot_be_stored_is_422(api, make_key, org, body, where):
    response = api.generic(
        "POST", "/api/v1/test-notes", body, content_type=JSON, **bearer(make_key(O))
    )
    assert response.status_code == 422
    error = envelope(response)
    assert error["code"] == "invalid_input"
    if where != "__all__":
        assert where in error["fields"]
    assert not Note.objects.for_organization(org.pk).exists()


def test_an_anonymous_unsafe_call_is_401_not_a_csrf_failure(db):
    for client in (Client(), Client(enforce_csrf_checks=True)):
        response = client.post("/api/v1/test-notes", {"title": "x"}, content_type=JSON)
        assert response.status_code == 401
        assert envelope(response)["code"] == "unauthenticated"


def test_csrf_is_403_for_a_session_caller_only(team):
    session = Client(enforce_csrf_checks=True)
    session.force_login(team[O].user)
    response = session.post("/api/v1/test-notes", {"title": "x"}, content_type=JSON)
    assert response.status_code == 403
    assert envelope(response)["code"] == "forbidden"


@pytest.mark.django_db(transaction=True)
def test_an_exhausted_pool_is_503_with_retry_after():
    organization = OrganizationFactory()
    creator = MembershipFactory(organization=organization, role=O)
    _key, raw = api_key_issue(
        organization_id=organization.pk, name="k", permissions=["notes.read"],
        created_by_id=creator.user_id,
    )  # fmt: skip
    connection.close()  # back to the pool: the request must take one
    pool = connection.pool  # type: ignore[attr-defined]  # the postgresql backend's pool
    held = []
    timeout, pool.timeout = pool.timeout, 0.2
    try:
        while True:  # every connection the pool can give
            try:
                held.append(pool.getconn(timeout=0.5))
            except PoolTimeout:
                break
        response = Client().get("/api/v1/test-notes", **bearer(raw))
    finally:
        pool.timeout = timeout
        for conn in held:
            pool.putconn(conn)
    assert response.status_code == 503
    assert envelope(response)["code"] == "unavailable"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_is_503_on_the_api_and_the_pages():
    address = database_address()
    if address is None:
        pytest.skip("the embedded database is reached through a socket, not TCP")
    organization = OrganizationFactory()
    creator = MembershipFactory(organization=organization, role=O)
    _key, raw = api_key_issue(
        organization_id=organization.pk, name="k", permissions=["notes.read"],
        created_by_id=creator.user_id,
    )  # fmt: skip
    browser = Client()
    browser.force_login(creator.user)  # a session the server process will find
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    with tcp_proxy(*address) as proxy, app_server_process(database_port=proxy.port) as (base, _):
        request = urllib.request.Request(
            f"{base}/api/v1/test-notes", headers={"Authorization": f"Bearer {raw}"}
        )
        page = urllib.request.Request(f"{base}/organization/", headers={"Cookie": cookie})
        for ready in (request, page):
            with urllib.request.urlopen(ready, timeout=10) as ok:
                assert ok.status == 200
        proxy.cut()
        for url, kind in ((request, "application/json"), (page, "text/html")):
            with pytest.raises(urllib.error.HTTPError) as answer:
                urllib.request.urlopen(url, timeout=20)
            assert answer.value.code == 503
            assert answer.value.headers["Content-Type"].startswith(kind)
            assert int(answer.value.headers["Retry-After"]) >= 1
            if kind == "application/json":
                assert json.loads(answer.value.read())["error"]["code"] == "unavailable"
        proxy.restore()
        with urllib.request.urlopen(request, timeout=20) as back:
            assert back.status == 200


def test_a_post_only_page_answers_405_with_a_page_and_a_way_back(client, team):
    client.force_login(team[O].user)
    response = client.get("/organization/leave/")
    assert response.status_code == 405
    assert b"GET is not allowed here." in response.content
    assert b'href="/dashboard/"' in response.content  # "Go to dashboard"
    assert "POST" in response["Allow"]
