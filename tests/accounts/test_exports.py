"""A person's account export: their own data from every organization, nobody else's,
through the same task, ZIP, email and signed link; only they can download it."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core import mail
from django.core.files.storage import storages
from django.test import Client

from accounts.models import SecurityEvent
from kernel.permissions import Role
from organizations.models import AuditEvent, DataExport
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.tasks import run_tasks


@pytest.fixture(autouse=True)
def export_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports"), "base_url": None},
        },
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def audit_row(organization, *, actor, target: str, action: str) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_label=actor.email,
        action=action,
        target=target,
        result="success",
        ip_address="203.0.113.9",
    )


def link_path() -> str:
    found = re.search(r"https?://[^/\s]+(/exports/download/\S+/)", str(mail.outbox[-1].body))
    assert found
    return found.group(1)


def read(archive: zipfile.ZipFile, name: str) -> list[dict]:
    rows: list[dict] = json.loads(archive.read(f"{name}.json"))
    return rows


def test_the_account_export_holds_the_persons_data_from_every_organization(db):
    me = UserFactory(email="me@example.com", display_name="Mia Example")
    someone = UserFactory(email="someone@example.com")
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    MembershipFactory(organization=acme, user=me, role=Role.ADMIN)
    MembershipFactory(organization=globex, user=me, role=Role.VIEWER)
    MembershipFactory(organization=acme, user=someone, role=Role.OWNER)
    EmailAddress.objects.create(user=me, email="me@example.com", verified=True, primary=True)
    EmailAddress.objects.create(user=someone, email="someone@example.com", verified=True)
    UserSession.objects.create(user=me, ip="198.51.100.7", session_key="k-mine", user_agent="Fox")
    UserSession.objects.create(user=someone, ip="192.0.2.1", session_key="k-theirs")
    SecurityEvent.objects.create(user=me, user_email=me.email, kind="step_up", result="success")
    SecurityEvent.objects.create(
        user=someone, user_email=someone.email, kind="someone-else-event", result="success"
    )
    audit_row(acme, actor=me, target="Acme Ltd", action="organization.rename")
    audit_row(globex, actor=someone, target="me@example.com", action="member.update_role")
    audit_row(acme, actor=someone, target="another@example.com", action="member.remove")

    client = signed_in(me)
    assert client.post("/exports/account/request/").status_code == 302
    run_tasks()
    export = DataExport.objects.get()
    assert (export.kind, export.status, export.organization_id) == ("account", "ready", None)
    assert mail.outbox[-1].to == ["me@example.com"]
    response = client.get(link_path())
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["account"] == {"id": me.pk, "email": "me@example.com"}
    assert [p["display_name"] for p in read(archive, "profile")] == ["Mia Example"]
    assert [e["email"] for e in read(archive, "email_addresses")] == ["me@example.com"]
    memberships = {(m["organization__name"], m["role"]) for m in read(archive, "memberships")}
    assert memberships == {("Acme", "admin"), ("Globex", "viewer")}
    sessions = [(s["ip"], s["user_agent"]) for s in read(archive, "sessions")]
    assert ("198.51.100.7", "Fox") in sessions  # beside this test client's own
    assert ("192.0.2.1", "") not in sessions
    kinds = [e["kind"] for e in read(archive, "security_log")]
    assert "step_up" in kinds
    assert "account.export_request" in kinds
    assert "someone-else-event" not in kinds
    about_me = {(a["organization__name"], a["action"]) for a in read(archive, "audit_log")}
    assert about_me == {("Acme", "organization.rename"), ("Globex", "member.update_role")}

    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"k-mine" not in everything  # no session keys
    assert b"someone@example.com" in everything  # the actor of a row about me...
    assert b"192.0.2.1" not in everything  # ...but not their session
    assert b"203.0.113.9" not in everything  # nor their address
    assert b"another@example.com" not in everything
    downloaded = SecurityEvent.objects.filter(user=me, kind="account.export_download")
    assert downloaded.count() == 1


def test_only_the_person_downloads_their_account_export(db):
    me, stranger = UserFactory(), UserFactory()
    signed_in(me).post("/exports/account/request/")
    run_tasks()
    path = link_path()
    assert signed_in(stranger).get(path).status_code == 404
    response = Client().get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    export = DataExport.objects.get()
    assert storages["exports"].exists(str(export.file.name))


def test_the_account_page_offers_the_export_and_lists_it(db):
    me = UserFactory()
    client = signed_in(me)
    assert b"/exports/account/" in client.get("/account/").content
    page = client.get("/exports/account/")
    assert page.status_code == 200
    assert b"Export my data" in page.content
    client.post("/exports/account/request/")
    page = client.get("/exports/account/")
    assert b"preparing" in page.content
    assert b"data-export-pending" in page.content
    assert b"Export my data</button>" not in page.content
    again = client.post("/exports/account/request/", follow=True)
    assert b"An export of your account is being prepared" in again.content
    assert DataExport.objects.count() == 1
    run_tasks()
    listed = re.search(r'href="(/exports/download/[^"]+)"', client.get("/exports/account/").text)
    assert listed
    assert client.get(listed.group(1)).status_code == 200


def test_an_api_key_cannot_request_an_account_export(db, make_key, api):
    from tests.conftest import bearer

    response = api.post(
        "/exports/account/request/", **bearer(make_key(Role.OWNER, permissions=["member.read"]))
    )
    assert response.status_code in (302, 401, 403)
    assert not DataExport.objects.exists()
