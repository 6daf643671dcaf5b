from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from kernel.permissions import Role


def test_healthz_reports_the_database(client: Client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_uses_the_connection_pool(client: Client, db):
    client.get("/healthz")
    assert connection.pool is not None  # type: ignore[attr-defined]  # PostgreSQL backend


def test_landing_page_for_a_visitor(client: Client, db):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "One workspace for your whole team" in html
    assert 'id="pricing"' in html
    assert 'href="/accounts/signup/"' in html
    assert "/static/css/app.css" in html


def test_landing_page_for_a_signed_in_member(client: Client, member):
    membership = member(Role.ADMIN)
    client.force_login(membership.user)
    html = client.get("/").content.decode()
    assert membership.user.email in html
    assert "Sign out" in html
    assert 'href="/account/profile/"' in html


def test_me_endpoint_describes_the_actor(client: Client, member, org):
    membership = member(Role.VIEWER)
    client.force_login(membership.user)

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == {"id": org.pk, "name": org.name, "slug": org.slug}
    assert body["role"] == "viewer"
    assert body["auth_method"] == "session"
    assert "notes.read" in body["permissions"]
    assert "notes.write" not in body["permissions"]


def test_me_endpoint_never_shows_another_organization(client: Client, member, other_org):
    membership = member(Role.OWNER)
    member(Role.OWNER, organization=other_org)
    client.force_login(membership.user)
    session = client.session
    session["active_organization_id"] = other_org.pk
    session.save()

    body = client.get("/api/v1/me").json()

    assert body["organization"]["id"] == membership.organization_id
    assert other_org.name not in str(body)


def test_a_user_without_organization_gets_forbidden_from_the_api(client: Client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_api_docs_are_served(client: Client, db, path):
    assert client.get(path).status_code == 200


def test_openapi_documents_the_error_envelope(client: Client, db):
    schema = client.get("/api/v1/openapi.json").json()
    responses = schema["paths"]["/api/v1/me"]["get"]["responses"]
    assert "401" in responses
