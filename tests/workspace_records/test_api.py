"""/api/v1/records with API keys and sessions: roles, scopes, validation, errors."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from billing.entitlements import FREE_RECORD_LIMIT
from kernel.permissions import Role
from organizations.models import ApiKey
from tests.conftest import client_for
from tests.factories import OrganizationFactory
from tests.workspace_records.conftest import bearer
from workspace_records.models import WorkspaceRecord

JSON = "application/json"
O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER
CAN = {
    "read": {O, A, M, V},
    "create": {O, A, M},
    "update": {O, A, M},
    "delete": {O, A},
}


def calls(api, key, record):
    headers = bearer(key)
    return {
        "read": lambda: api.get(f"/api/v1/records/{record.pk}", **headers),
        "create": lambda: api.post(
            "/api/v1/records", {"title": "New"}, content_type=JSON, **headers
        ),
        "update": lambda: api.patch(
            f"/api/v1/records/{record.pk}", {"status": "done"}, content_type=JSON, **headers
        ),
        "delete": lambda: api.delete(f"/api/v1/records/{record.pk}", **headers),
    }


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("operation", ["read", "create", "update", "delete"])
def test_each_role_through_api_keys(role, operation, api, make_key, record):
    response = calls(api, make_key(role), record)[operation]()
    if role in CAN[operation]:
        assert response.status_code in (200, 201, 204), response.content
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_through_the_session(role, team, record):
    client = client_for(team[role])
    created = client.post("/api/v1/records", {"title": "From the browser"}, content_type=JSON)
    assert created.status_code == (201 if role in CAN["create"] else 403)
    assert client.get("/api/v1/records").status_code == 200


def test_crud_round_trip(api, make_key):
    headers = bearer(make_key(O))
    created = api.post(
        "/api/v1/records", {"title": "  Ship it  ", "body": "soon"}, content_type=JSON, **headers
    )
    assert created.status_code == 201
    record = created.json()
    assert (record["title"], record["status"], record["body"]) == ("Ship it", "open", "soon")

    updated = api.patch(
        f"/api/v1/records/{record['id']}", {"status": "in_progress"}, content_type=JSON, **headers
    )
    assert updated.json()["status"] == "in_progress"
    assert updated.json()["title"] == "Ship it"  # untouched fields stay

    listed = api.get("/api/v1/records?status=in_progress", **headers).json()
    assert [r["id"] for r in listed["records"]] == [record["id"]]
    assert api.delete(f"/api/v1/records/{record['id']}", **headers).status_code == 204
    assert api.get(f"/api/v1/records/{record['id']}", **headers).status_code == 404


def test_another_organizations_records_are_not_found(api, make_key, other_org):
    theirs = WorkspaceRecord.objects.create(organization=other_org, title="Globex secret plan")
    headers = bearer(make_key(O))
    for response in (
        api.get(f"/api/v1/records/{theirs.pk}", **headers),
        api.patch(f"/api/v1/records/{theirs.pk}", {"title": "mine"}, content_type=JSON, **headers),
        api.delete(f"/api/v1/records/{theirs.pk}", **headers),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert b"Globex" not in response.content
    assert b"Globex" not in api.get("/api/v1/records", **headers).content
    theirs.refresh_from_db()
    assert theirs.title == "Globex secret plan"


def test_a_key_is_limited_to_its_permissions(api, make_key, record):
    headers = bearer(make_key(O, permissions=["workspace.records.read"]))
    assert api.get("/api/v1/records", **headers).status_code == 200
    refused = api.post("/api/v1/records", {"title": "x"}, content_type=JSON, **headers)
    assert refused.status_code == 403
    assert "API key" in refused.json()["error"]["message"]


@pytest.mark.parametrize("problem", ["revoked", "expired", "wrong secret", "malformed"])
def test_bad_keys_are_unauthenticated(problem, api, make_key, org):
    raw = make_key(
        O, expires_at=timezone.now() - timedelta(seconds=1) if problem == "expired" else None
    )
    if problem == "revoked":
        ApiKey.objects.for_organization(org.pk).update(revoked_at=timezone.now())
    if problem == "wrong secret":
        raw = raw[:-4] + "AAAA"
    if problem == "malformed":
        raw = "not-a-key"
    response = api.get("/api/v1/records", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_key_use_is_recorded(api, make_key, org):
    api.get("/api/v1/records", **bearer(make_key(O)))
    assert ApiKey.objects.for_organization(org.pk).get().last_used_at is not None


def test_each_key_has_its_own_rate_limit(api, make_key, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 3
    first, second = make_key(O), make_key(O)
    for _ in range(3):
        assert api.get("/api/v1/records", **bearer(first)).status_code == 200
    limited = api.get("/api/v1/records", **bearer(first))
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert api.get("/api/v1/records", **bearer(second)).status_code == 200


def test_session_calls_need_csrf_and_key_calls_do_not(team, make_key):
    session = Client(enforce_csrf_checks=True)
    session.force_login(team[O].user)
    assert session.post("/api/v1/records", {"title": "x"}, content_type=JSON).status_code == 403
    keyed = Client(enforce_csrf_checks=True)
    assert (
        keyed.post(
            "/api/v1/records", {"title": "x"}, content_type=JSON, **bearer(make_key(O))
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "status": "archived"}, "status"),
        ({"title": 12}, "title"),
        ({"title": "ok", "body": ["not", "text"]}, "body"),
        ({}, "title"),
    ],
)
def test_invalid_input_is_422_with_field_errors_and_writes_nothing(
    payload, field, api, make_key, org
):
    response = api.post("/api/v1/records", payload, content_type=JSON, **bearer(make_key(O)))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["fields"]
    assert not WorkspaceRecord.objects.for_organization(org.pk).exists()


def test_malformed_json_is_an_envelope_too(api, make_key):
    response = api.post("/api/v1/records", "{not json", content_type=JSON, **bearer(make_key(O)))
    assert response.status_code in (400, 422)
    assert "error" in response.json()


def test_unknown_routes_and_methods_use_the_envelope(api, make_key):
    headers = bearer(make_key(O))
    missing = api.get("/api/v1/nothing-here", **headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = api.put("/api/v1/records", {}, content_type=JSON, **headers)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")
    assert "POST" in wrong["Allow"]


def test_the_plan_record_limit(api, make_key, org):
    WorkspaceRecord.objects.bulk_create(
        WorkspaceRecord(organization=org, title=f"r{n}") for n in range(FREE_RECORD_LIMIT)
    )
    response = api.post(
        "/api/v1/records", {"title": "one more"}, content_type=JSON, **bearer(make_key(O))
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "plan_limit"
    assert "Upgrade" in response.json()["error"]["message"]


def test_pagination_is_stable_while_records_are_added(api, make_key, org):
    headers = bearer(make_key(O))
    WorkspaceRecord.objects.bulk_create(
        WorkspaceRecord(organization=org, title=f"r{n}") for n in range(5)
    )
    first = api.get("/api/v1/records?limit=2", **headers).json()
    WorkspaceRecord.objects.create(organization=org, title="added meanwhile")
    seen = [r["title"] for r in first["records"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(f"/api/v1/records?limit=2&cursor={cursor}", **headers).json()
        seen += [r["title"] for r in page["records"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(f"r{n}" for n in range(5))  # no repeats, no gaps
    assert api.get("/api/v1/records?cursor=garbage", **headers).status_code == 422


def test_openapi_documents_records_and_both_auth_schemes(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/records", "/api/v1/records/{record_id}"} <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    assert "422" in schema["paths"]["/api/v1/records"]["post"]["responses"]


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_create_twice_with_one_key_makes_one_record(api, make_key, org):
    headers = {**bearer(make_key(O)), "HTTP_IDEMPOTENCY_KEY": "create-1"}
    first = api.post("/api/v1/records", {"title": "Once"}, content_type=JSON, **headers)
    second = api.post("/api/v1/records", {"title": "Once"}, content_type=JSON, **headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert WorkspaceRecord.objects.for_organization(org.pk).count() == 1


def test_a_reused_key_with_another_body_is_a_conflict(api, make_key, org):
    headers = {**bearer(make_key(O)), "HTTP_IDEMPOTENCY_KEY": "create-2"}
    api.post("/api/v1/records", {"title": "A"}, content_type=JSON, **headers)
    reused = api.post("/api/v1/records", {"title": "B"}, content_type=JSON, **headers)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "conflict"
    assert WorkspaceRecord.objects.for_organization(org.pk).count() == 1


def test_idempotency_keys_belong_to_one_organization(api, make_key, other_org):
    mine, theirs = make_key(O), make_key(O, organization=other_org)
    for raw in (mine, theirs):
        response = api.post(
            "/api/v1/records",
            {"title": "Same"},
            content_type=JSON,
            HTTP_IDEMPOTENCY_KEY="shared",
            **bearer(raw),
        )
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_with_one_key_make_one_record(make_key):
    org = OrganizationFactory()
    raw = make_key(O, organization=org)
    start = threading.Barrier(4, timeout=10)
    statuses: list[int] = []

    def send() -> None:
        try:
            start.wait()
            response = Client().post(
                "/api/v1/records",
                {"title": "Race"},
                content_type=JSON,
                HTTP_IDEMPOTENCY_KEY="race",
                **bearer(raw),
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert WorkspaceRecord.objects.for_organization(org.pk).count() == 1
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}


@pytest.mark.parametrize("field", ["title", "body"])
def test_nul_characters_are_invalid_input_not_a_server_error(field, api, make_key, org):
    payload = {"title": "ok", field: "bad\x00text"}
    response = api.post("/api/v1/records", payload, content_type=JSON, **bearer(make_key(O)))
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert not WorkspaceRecord.objects.for_organization(org.pk).exists()


def test_nul_characters_in_query_parameters_are_invalid_input(api, make_key):
    headers = bearer(make_key(O))
    for path in ("/api/v1/records?search=a%00b", "/api/v1/audit-events?action=a%00b"):
        response = api.get(path, **headers)
        assert response.status_code == 422, path
