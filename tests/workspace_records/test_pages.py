"""Record pages for each role, without JavaScript; and the API keys page."""

from __future__ import annotations

import pytest
from django.test import Client

from kernel.permissions import Role
from organizations.models import ApiKey
from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.workspace_records.conftest import bearer
from workspace_records.models import WorkspaceRecord

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER


@pytest.mark.parametrize("role", list(Role))
def test_create_from_the_list_page(role, team, org):
    client = client_for(team[role])
    page = client.get("/records/")
    assert page.status_code == 200
    assert (b"New record" in page.content) is (role != V)
    response = client.post("/records/", {"title": "From a form", "body": ""})
    if role == V:
        assert response.status_code == 403
        assert not WorkspaceRecord.objects.for_organization(org.pk).exists()
    else:
        assert response.status_code == 302
        assert WorkspaceRecord.objects.for_organization(org.pk).get().title == "From a form"


def test_field_errors_show_next_to_the_field_and_nothing_is_written(team, org):
    client = client_for(team[M])
    response = client.post("/records/", {"title": "   ", "body": "kept"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert "A title is required." in html
    assert ">kept</textarea>" in html  # what was typed stays
    assert not WorkspaceRecord.objects.for_organization(org.pk).exists()


@pytest.mark.parametrize("role", list(Role))
def test_edit_and_delete_by_role(role, team, record):
    client = client_for(team[role])
    detail = client.get(f"/records/{record.pk}/")
    assert detail.status_code == 200
    assert (b'name="title"' in detail.content) is (role != V)  # viewers read only
    edited = client.post(
        f"/records/{record.pk}/", {"title": "Renamed", "status": "done", "body": ""}
    )
    assert edited.status_code == (403 if role == V else 302)
    deleted = client.post(f"/records/{record.pk}/delete/")
    assert deleted.status_code == (302 if role in (O, A) else 403)
    assert WorkspaceRecord.objects.for_organization(record.organization_id).exists() is (
        role not in (O, A)
    )


def test_filters_and_search(team, org):
    WorkspaceRecord.objects.create(organization=org, title="Alpha plan", status="done")
    WorkspaceRecord.objects.create(organization=org, title="Beta plan", status="open")
    client = client_for(team[V])
    html = client.get("/records/?status=done&q=plan").content.decode()
    assert "Alpha plan" in html
    assert "Beta plan" not in html


def test_another_organizations_record_pages_are_not_found(team, other_org):
    theirs = WorkspaceRecord.objects.create(organization=other_org, title="Globex secret")
    client = client_for(team[O])
    for response in (
        client.get(f"/records/{theirs.pk}/"),
        client.post(f"/records/{theirs.pk}/", {"title": "x", "status": "open"}),
        client.post(f"/records/{theirs.pk}/delete/"),
    ):
        assert response.status_code == 404
        assert b"Globex" not in response.content


# --- the API keys page --------------------------------------------------------------------


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
        {"name": "CI", "permissions": ["workspace.records.read"], "expires_in_days": "30"},
    )
    assert response.status_code == 200
    raw = response.context["created_key"]
    assert raw.startswith("sk_")
    key = ApiKey.objects.for_organization(org.pk).get()
    assert raw not in (key.key_hash, key.prefix)
    assert raw not in admin_session.get("/organization/api-keys/").content.decode()
    assert Client().get("/api/v1/records", **bearer(raw)).status_code == 200


def test_a_key_never_gets_more_than_its_creator_holds(admin_session, org):
    response = admin_session.post(
        "/organization/api-keys/", {"name": "Too much", "permissions": ["billing.manage"]}
    )
    assert response.status_code == 403
    assert not ApiKey.objects.for_organization(org.pk).exists()


def test_a_revoked_key_stops_working(admin_session, org):
    raw = admin_session.post(
        "/organization/api-keys/", {"name": "Temp", "permissions": ["workspace.records.read"]}
    ).context["created_key"]
    key = ApiKey.objects.for_organization(org.pk).get()
    admin_session.post(f"/organization/api-keys/{key.pk}/revoke/")
    assert Client().get("/api/v1/records", **bearer(raw)).status_code == 401


def test_members_and_viewers_cannot_manage_keys(team):
    for role in (M, V):
        assert client_for(team[role]).get("/organization/api-keys/").status_code == 403


def test_a_stale_session_steps_up_before_creating_a_key(team):
    client = client_for(team[O])  # no sign-in record: not a fresh session
    response = client.post(
        "/organization/api-keys/", {"name": "x", "permissions": ["workspace.records.read"]}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/api_keys.create/")


def test_operators_see_records_per_organization_in_the_admin(org, other_org):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    operator = make_verified_user("ops@example.com")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    TOTP.activate(operator, generate_totp_secret())
    WorkspaceRecord.objects.create(organization=org, title="Acme roadmap", status="done")
    WorkspaceRecord.objects.create(organization=other_org, title="Globex roadmap")
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/workspace_records/workspacerecord/?q=roadmap&status__exact=done")
    assert listing.status_code == 200
    assert b"Acme roadmap" in listing.content
    assert b"Globex roadmap" not in listing.content


def test_a_nul_character_in_a_search_is_an_error_page_not_a_crash(team):
    response = client_for(team[V]).get("/records/?q=a%00b")
    assert response.status_code == 422
