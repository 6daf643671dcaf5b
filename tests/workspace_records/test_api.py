"""/api/v1/records with API keys and sessions: roles, scopes, validation, versions.
(API keys, idempotency and the envelope as such are the kernel's: tests/kernel.)"""

from __future__ import annotations

import re

import pytest

from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from tests.conftest import JSON, bearer, client_for
from workspace_records.models import WorkspaceRecord

FREE_RECORD_LIMIT = 100
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
            f"/api/v1/records/{record.pk}",
            {"status": "done", "version": record.version},
            content_type=JSON,
            **headers,
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

    assert record["version"] == 1
    fetched = api.get(f"/api/v1/records/{record['id']}", **headers)
    assert fetched["ETag"] == '"1"'
    updated = api.patch(
        f"/api/v1/records/{record['id']}",
        {"status": "in_progress"},
        content_type=JSON,
        HTTP_IF_MATCH=fetched["ETag"],
        **headers,
    )
    assert updated.json()["status"] == "in_progress"
    assert updated.json()["title"] == "Ship it"  # untouched fields stay
    assert (updated.json()["version"], updated["ETag"]) == (2, '"2"')

    listed = api.get("/api/v1/records?status=in_progress", **headers).json()
    assert [r["id"] for r in listed["records"]] == [record["id"]]
    assert api.delete(f"/api/v1/records/{record['id']}", **headers).status_code == 204
    assert api.get(f"/api/v1/records/{record['id']}", **headers).status_code == 404


def test_another_organizations_records_are_not_found(api, make_key, other_org):
    theirs = WorkspaceRecord.objects.create(organization=other_org, title="Globex secret plan")
    headers = bearer(make_key(O))
    for response in (
        api.get(f"/api/v1/records/{theirs.pk}", **headers),
        api.patch(
            f"/api/v1/records/{theirs.pk}",
            {"title": "mine", "version": 1},
            content_type=JSON,
            **headers,
        ),
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


def creator_of(org, raw: str) -> Membership:
    key = ApiKey.objects.for_organization(org.pk).get(prefix=raw.split("_")[1])
    assert key.created_by_id is not None
    return Membership.objects.for_organization(org.pk).get(user_id=key.created_by_id)


def test_a_demoted_creators_key_no_longer_deletes_records(api, make_key, org, record):
    raw = make_key(O)
    creator = creator_of(org, raw)
    creator.role = V
    creator.save()
    refused = api.delete(f"/api/v1/records/{record.pk}", **bearer(raw))
    assert refused.status_code == 403
    assert WorkspaceRecord.objects.for_organization(org.pk).filter(pk=record.pk).exists()


def test_a_removed_creators_key_stops_working(api, make_key, org, record):
    raw = make_key(O)
    creator_of(org, raw).delete()
    refused = api.delete(f"/api/v1/records/{record.pk}", **bearer(raw))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert WorkspaceRecord.objects.for_organization(org.pk).filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "status": "archived"}, "status"),
        ({"title": 12}, "title"),
        ({"title": ["x"]}, "title"),
        ({"title": "ok", "body": ["not", "text"]}, "body"),
        ({"title": "\u200b\u200b"}, "title"),
        ({"title": "ok", "organization_id": 65}, "organization_id"),
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


def test_a_deep_cursor_page_starts_the_index_scan_at_the_cursor(api, make_key, org):
    """Rows before the cursor are never read and filtered out: a page deep in a large
    organization costs what the first page costs."""
    import json as json_module

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    WorkspaceRecord.objects.bulk_create(
        WorkspaceRecord(organization=org, title=f"r{n}") for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workspace_records_workspacerecord")
    headers = bearer(make_key(O))
    cursor_value = None
    for _ in range(40):  # 40 pages of 50: 2,000 rows in
        url = "/api/v1/records?limit=50" + (f"&cursor={cursor_value}" if cursor_value else "")
        cursor_value = api.get(url, **headers).json()["next_cursor"]
    with CaptureQueriesContext(connection) as captured:
        page = api.get(f"/api/v1/records?limit=50&cursor={cursor_value}", **headers).json()
    assert len(page["records"]) == 50
    (sql,) = [q["sql"] for q in captured if "workspace_records_workspacerecord" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = json_module.dumps(cursor.fetchone()[0])
    removed = [int(n) for n in re.findall(r'"Rows Removed by Filter": (\d+)', plan)]
    assert max(removed, default=0) < 60, plan  # not ~2,000


def test_openapi_documents_records_and_both_auth_schemes(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/records", "/api/v1/records/{record_id}"} <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    create = schema["paths"]["/api/v1/records"]["post"]
    assert {"402", "409", "422", "503"} <= set(create["responses"])
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    patch = schema["paths"]["/api/v1/records/{record_id}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"]}


# --- versions: no lost updates -------------------------------------------------------------


def test_a_stale_edit_is_a_conflict_not_a_silent_overwrite(api, make_key, record):
    first, second = bearer(make_key(M)), bearer(make_key(M))
    path = f"/api/v1/records/{record.pk}"
    assert api.patch(path, {"title": "New title", "version": 1}, content_type=JSON,
                     **first).status_code == 200  # fmt: skip
    stale = api.patch(path, {"body": "notes only", "version": 1}, content_type=JSON, **second)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert "version" in stale.json()["error"]["fields"]
    stale_header = api.patch(
        path, {"body": "notes only"}, content_type=JSON, HTTP_IF_MATCH='"1"', **second
    )
    assert stale_header.status_code == 409
    record.refresh_from_db()
    assert (record.title, record.body, record.version) == ("New title", "", 2)


def test_an_edit_without_its_version_is_invalid_input(api, make_key, record):
    response = api.patch(
        f"/api/v1/records/{record.pk}", {"title": "x"}, content_type=JSON, **bearer(make_key(M))
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"version": ["This field is required."]}


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
