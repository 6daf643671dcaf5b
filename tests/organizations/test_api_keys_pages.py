"""The API keys page: a key shown once, scoped within its creator's role, revoked, and
marked when it stopped working because its creator left."""

from __future__ import annotations

import pytest
from django.test import Client

from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.conftest import bearer, client_for
from tests.factories import MembershipFactory

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER


@pytest.fixture
def admin_session(org) -> Client:
    user = make_verified_user("admin@example.com")
    MembershipFactory(organization=org, user=user, role=Role.ADMIN)
    client = Client()
    login(client, user.email, PASSWORD)  # a fresh sign-in: step-up level 2 passes
    return client


def test_a_key_is_shown_once_stored_hashed_and_works(admin_session, org):
    response = admin_session.post(
        "/organization/api-keys/",
        {"name": "CI", "permissions": ["notes.read"], "expires_in_days": "30"},
    )
    assert response.status_code == 200
    raw = response.context["created_key"]
    assert raw.startswith("sk_")
    key = ApiKey.objects.for_organization(org.pk).get()
    assert raw not in (key.key_hash, key.prefix)
    assert raw not in admin_session.get("/organization/api-keys/").content.decode()
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 200


def test_a_key_never_gets_more_than_its_creator_holds(admin_session, org):
    response = admin_session.post(
        "/organization/api-keys/", {"name": "Too much", "permissions": ["billing.manage"]}
    )
    assert response.status_code == 403
    assert not ApiKey.objects.for_organization(org.pk).exists()


def test_a_revoked_key_stops_working(admin_session, org):
    raw = admin_session.post(
        "/organization/api-keys/", {"name": "Temp", "permissions": ["notes.read"]}
    ).context["created_key"]
    key = ApiKey.objects.for_organization(org.pk).get()
    admin_session.post(f"/organization/api-keys/{key.pk}/revoke/")
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 401


def test_members_and_viewers_cannot_manage_keys(team):
    for role in (M, V):
        assert client_for(team[role]).get("/organization/api-keys/").status_code == 403


def test_a_stale_session_steps_up_before_creating_a_key(team):
    client = client_for(team[O])  # no sign-in record: not a fresh session
    response = client.post("/organization/api-keys/", {"name": "x", "permissions": ["notes.read"]})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/api_keys.create/")


def test_the_page_says_when_a_key_stopped_working_because_its_creator_left(admin_session, org):
    raw = admin_session.post(
        "/organization/api-keys/", {"name": "Deploys", "permissions": ["notes.read"]}
    ).context["created_key"]
    owner = MembershipFactory(organization=org, role=O)
    Membership.objects.for_organization(org.pk).get(user__email="admin@example.com").delete()
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 401
    page = client_for(owner).get("/organization/api-keys/").content.decode()
    assert "Deploys" in page
    assert "stopped working" in page


def test_a_refused_key_keeps_what_was_typed(admin_session):
    response = admin_session.post("/organization/api-keys/", {"name": "\u200b", "permissions": []})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Use visible characters." in html
    assert "Choose at least one." in html
