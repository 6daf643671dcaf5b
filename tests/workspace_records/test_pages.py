"""Record pages for each role, without JavaScript: forms bound to the functions' input
models, refusals on the form with what was typed, stale edits shown, not lost."""

from __future__ import annotations

import pytest
from django.test import Client

from kernel.permissions import Role
from tests.accounts.helpers import make_verified_user
from tests.conftest import client_for
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
    assert "This field is required." in html
    assert ">kept</textarea>" in html  # what was typed stays
    assert not WorkspaceRecord.objects.for_organization(org.pk).exists()


@pytest.mark.parametrize("role", list(Role))
def test_edit_and_delete_by_role(role, team, record):
    client = client_for(team[role])
    detail = client.get(f"/records/{record.pk}/")
    assert detail.status_code == 200
    assert (b'name="title"' in detail.content) is (role != V)  # viewers read only
    edited = client.post(
        f"/records/{record.pk}/",
        {"title": "Renamed", "status": "done", "body": "", "version": record.version},
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
    html = client.get("/records/?status=done&search=plan").content.decode()
    assert "Alpha plan" in html
    assert "Beta plan" not in html


def test_another_organizations_record_pages_are_not_found(team, other_org):
    theirs = WorkspaceRecord.objects.create(organization=other_org, title="Globex secret")
    client = client_for(team[O])
    for response in (
        client.get(f"/records/{theirs.pk}/"),
        client.post(f"/records/{theirs.pk}/", {"title": "x", "status": "open", "version": 1}),
        client.post(f"/records/{theirs.pk}/delete/"),
    ):
        assert response.status_code == 404
        assert b"Globex" not in response.content


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


def test_a_nul_character_in_a_search_is_an_error_on_the_form_not_a_crash(team):
    response = client_for(team[V]).get("/records/?search=a%00b")
    assert response.status_code == 422
    assert b"NUL" in response.content


def test_an_invalid_status_filter_is_shown_not_ignored(team, org):
    WorkspaceRecord.objects.create(organization=org, title="Visible?")
    response = client_for(team[V]).get("/records/?status=archived")
    assert response.status_code == 422
    html = response.content.decode()
    assert "Status: Choose one of: open, in_progress, done." in html  # its label, not its name
    assert "Visible?" not in html  # not a silently unfiltered list
    assert "Fix the filter above to see records." in html  # not "No records yet."
    cursor = client_for(team[V]).get("/records/?cursor=nonsense").content.decode()
    assert "Page link: This cursor is not valid." in cursor


def test_the_title_inputs_limits_come_from_the_input_model(team, record):
    client = client_for(team[M])
    for page in (client.get("/records/"), client.get(f"/records/{record.pk}/")):
        assert 'name="title" value="' in page.content.decode()
        assert 'maxlength="200"' in page.content.decode()
        assert 'maxlength="250"' not in page.content.decode()


def test_a_stale_edit_keeps_the_input_and_shows_the_saved_version(team, record):
    first, second = client_for(team[M]), client_for(team[A])
    form = {"title": record.title, "status": "open", "version": record.version}
    assert (
        first.post(f"/records/{record.pk}/", {**form, "title": "New title", "body": ""})["Location"]
        == f"/records/{record.pk}/"
    )
    stale = second.post(f"/records/{record.pk}/", {**form, "body": "My notes"})

    assert stale.status_code == 409
    html = stale.content.decode()
    assert "Someone else saved this in the meantime" in html
    assert "Saved now: <strong>New title</strong>" in html
    assert ">My notes</textarea>" in html  # what they typed is kept
    assert 'name="version" value="2"' in html  # saving again is a deliberate overwrite
    record.refresh_from_db()
    assert (record.title, record.body) == ("New title", "")
    again = second.post(f"/records/{record.pk}/", {**form, "body": "My notes", "version": 2})
    assert again.status_code == 302
    record.refresh_from_db()
    assert (record.title, record.body, record.version) == (record.title, "My notes", 3)


def test_an_unknown_form_field_is_refused_as_in_the_api(team, org):
    response = client_for(team[M]).post("/records/", {"title": "x", "organization_id": "65"})
    assert response.status_code == 422
    assert "organization_id: This field is not accepted here." in response.content.decode()
    assert not WorkspaceRecord.objects.for_organization(org.pk).exists()


def test_clearing_a_field_on_the_edit_form_is_an_edit_not_no_change(team, record):
    client = client_for(team[M])
    page = f"/records/{record.pk}/"
    form = {"title": record.title, "status": "open", "body": "old notes"}
    assert client.post(page, {**form, "version": record.version}).status_code == 302
    record.refresh_from_db()

    cleared_title = client.post(page, {**form, "title": " ", "version": record.version})
    assert cleared_title.status_code == 422  # not "Saved." with the old title kept
    assert "This field is required." in cleared_title.content.decode()
    cleared_body = client.post(page, {**form, "body": "", "version": record.version})
    assert cleared_body.status_code == 302
    record.refresh_from_db()
    assert (record.title, record.body) == ("First record", "")
