"""API keys as the kernel resolves them: scopes within the creator's current role, bad
keys, use recorded, a rate limit per key, and CSRF only for sessions. On the test-only
notes domain (tests/tenant_app), so the demo can go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from tests.conftest import JSON, bearer
from tests.tenant_app.models import Note

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER


@pytest.fixture
def note(org):
    return Note.objects.create(organization=org, title="First")


def creator_of(org, raw: str) -> Membership:
    key = ApiKey.objects.for_organization(org.pk).get(prefix=raw.split("_")[1])
    assert key.created_by_id is not None
    return Membership.objects.for_organization(org.pk).get(user_id=key.created_by_id)


def test_a_key_acts_with_its_creators_current_role(api, make_key, org, note):
    raw = make_key(O)  # scopes: everything an owner holds
    assert api.delete(f"/api/v1/test-notes/{note.pk}", **bearer(raw)).status_code == 204

    creator = creator_of(org, raw)
    creator.role = V
    creator.save()
    second = Note.objects.create(organization=org, title="Second")
    demoted = api.delete(f"/api/v1/test-notes/{second.pk}", **bearer(raw))
    assert demoted.status_code == 403
    assert demoted.json()["error"]["code"] == "forbidden"
    assert api.get("/api/v1/test-notes", **bearer(raw)).status_code == 200  # a viewer reads
    assert Note.objects.for_organization(org.pk).filter(pk=second.pk).exists()


def test_a_key_stops_working_when_its_creator_leaves(api, make_key, org, note):
    raw = make_key(O)
    creator_of(org, raw).delete()
    response = api.get("/api/v1/test-notes", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "left the organization" in response.json()["error"]["message"]


def test_a_key_never_gets_more_than_its_scopes(api, make_key, note):
    headers = bearer(make_key(O, permissions=["notes.read"]))
    assert api.get("/api/v1/test-notes", **headers).status_code == 200
    refused = api.post("/api/v1/test-notes", {"title": "x"}, content_type=JSON, **headers)
    assert refused.status_code == 403
    assert "API key" in refused.json()["error"]["message"]


@pytest.mark.parametrize("problem", ["revoked", "expired", "wrong secret", "malformed"])
def test_bad_keys_are_unauthenticated(problem, api, make_key, org):
    expired = timezone.now() - timedelta(seconds=1) if problem == "expired" else None
    raw = make_key(O, expires_at=expired)
    if problem == "revoked":
        ApiKey.objects.for_organization(org.pk).update(revoked_at=timezone.now())
    if problem == "wrong secret":
        raw = raw[:-4] + "AAAA"
    if problem == "malformed":
        raw = "not-a-key"
    response = api.get("/api/v1/test-notes", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_key_use_is_recorded(api, make_key, org):
    api.get("/api/v1/test-notes", **bearer(make_key(O)))
    assert ApiKey.objects.for_organization(org.pk).get().last_used_at is not None


def test_each_key_has_its_own_rate_limit(api, make_key, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 3
    first, second = make_key(O), make_key(O)
    for _ in range(3):
        assert api.get("/api/v1/test-notes", **bearer(first)).status_code == 200
    limited = api.get("/api/v1/test-notes", **bearer(first))
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert api.get("/api/v1/test-notes", **bearer(second)).status_code == 200


def test_session_calls_need_csrf_and_key_calls_do_not(team, make_key):
    session = Client(enforce_csrf_checks=True)
    session.force_login(team[O].user)
    refused = session.post("/api/v1/test-notes", {"title": "x"}, content_type=JSON)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    keyed = Client(enforce_csrf_checks=True)
    created = keyed.post(
        "/api/v1/test-notes", {"title": "x"}, content_type=JSON, **bearer(make_key(O))
    )
    assert created.status_code == 201


def test_personal_functions_refuse_keys_and_say_so(api, make_key):
    response = api.get("/api/v1/test-notes/whoami", **bearer(make_key(O)))
    assert response.status_code == 403
    assert "signed-in session" in response.json()["error"]["message"]


def test_the_schema_says_which_operations_need_a_session(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    whoami = schema["paths"]["/api/v1/test-notes/whoami"]["get"]
    assert [list(s) for s in whoami["security"]] == [["SessionAuth"]]
    listed = schema["paths"]["/api/v1/test-notes"]["get"]
    assert {name for s in listed["security"] for name in s} == {"BearerAuth", "SessionAuth"}
