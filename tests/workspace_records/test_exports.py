"""Organization data exports: requested by managers (page and API), written by the task
queue into a ZIP of every manifest's tables, downloaded through a signed, expiring link
by a member still allowed to export, audited both ways; nothing of another organization."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.storage import storages
from django.utils import timezone

from kernel.actor import SYSTEM
from kernel.door import call
from kernel.exports import check_exports_cover_tenant_tables, uncovered
from kernel.manifest import DOMAINS
from kernel.permissions import Role
from organizations import exports
from organizations.models import ApiKey, AuditEvent, DataExport, Invitation, Membership
from tests.conftest import bearer, client_for
from tests.factories import MembershipFactory
from tests.tasks import run_tasks
from workspace_records.models import WorkspaceRecord

MARK = "GLOBEX-ONLY-7f3a"
"""Recognizable values of the other organization: none may appear in Acme's ZIP."""


@pytest.fixture(autouse=True)
def export_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports"), "base_url": None},
        },
    }
    return tmp_path / "exports"


def invite(org, email: str) -> Invitation:
    now = timezone.now()
    return Invitation.objects.create(
        organization=org,
        email=email,
        role=Role.MEMBER,
        token_hash=f"hash-of-{email}",
        expires_at=now + timedelta(days=7),
        last_sent_at=now,
    )


def fill(org, owner: Membership, mark: str = "") -> None:
    WorkspaceRecord.objects.create(
        organization=org,
        title=f"Quarterly plan {mark}".strip(),
        body="a,b\n“c”",
        created_by=owner.user,
    )
    WorkspaceRecord.objects.create(organization=org, title=f"Hiring {mark}".strip())
    invite(org, f"invitee{mark.lower()}@example.com")
    AuditEvent.objects.create(
        organization=org,
        actor=owner.user,
        actor_label=owner.user.email,
        action="organization.rename",
        target=f"Renamed {mark}".strip(),
        result="success",
        detail={"previous": f"Old {mark}".strip()},
    )


def request_export(client) -> DataExport:
    response = client.post("/exports/request/")
    assert response.status_code == 302, response.content
    run_tasks()
    return DataExport.objects.latest("pk")


def link_path() -> str:
    """The download link of the newest export email."""
    found = re.search(r"https?://[^/\s]+(/exports/download/\S+/)", str(mail.outbox[-1].body))
    assert found, mail.outbox[-1].body
    return found.group(1)


def open_zip(export: DataExport) -> zipfile.ZipFile:
    with storages["exports"].open(str(export.file.name), "rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def table(archive: zipfile.ZipFile, name: str) -> tuple[list[dict], list[dict]]:
    """(rows from <name>.json, rows from <name>.csv)."""
    as_json = json.loads(archive.read(f"{name}.json"))
    as_csv = list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode())))
    return as_json, as_csv


@pytest.fixture
def owner(org) -> Membership:
    return MembershipFactory(organization=org, role=Role.OWNER)


@pytest.fixture
def globex(other_org) -> Membership:
    globex_owner = MembershipFactory(organization=other_org, role=Role.OWNER)
    fill(other_org, globex_owner, MARK)
    return globex_owner


def test_the_zip_holds_each_domains_tables_as_json_and_csv_and_nothing_of_another(
    org, owner, globex
):
    fill(org, owner)
    ApiKey.objects.create(
        organization=org, name="deploy", prefix="abc123", key_hash="SECRET-HASH-9", permissions=[]
    )
    export = request_export(client_for(owner))

    assert export.status == DataExport.Status.READY
    assert export.ready_at is not None
    assert export.expires_at == export.ready_at + timedelta(hours=24)
    archive = open_zip(export)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["organization"] == {"id": org.pk, "name": "Acme"}
    assert manifest["requested_by"] == owner.user.email
    assert {f["table"] for f in manifest["files"]} >= {
        "organization",
        "members",
        "invitations",
        "audit_log",
        "api_keys",
        "workspace_records",
        "billing_subscriptions",
        "billing_grants",
    }
    assert {f["table"]: f["rows"] for f in manifest["files"]}["workspace_records"] == 2
    assert export.counts["members"] == 1

    records_json, records_csv = table(archive, "workspace_records")
    assert [r["title"] for r in records_json] == ["Quarterly plan", "Hiring"]
    assert records_csv[0]["title"] == "Quarterly plan"
    assert records_csv[0]["body"] == records_json[0]["body"] == "a,b\n“c”"
    assert records_csv[0]["created_by__email"] == owner.user.email
    members_json, members_csv = table(archive, "members")
    assert [m["user__email"] for m in members_json] == [owner.user.email]
    assert members_csv[0]["role"] == "owner"
    audit_json, audit_csv = table(archive, "audit_log")
    renamed = next(row for row in audit_json if row["action"] == "organization.rename")
    assert renamed["detail"] == {"previous": "Old"}
    assert any(
        json.loads(row["detail"]) == {"previous": "Old"} for row in audit_csv if row["detail"]
    )
    invitations_json, _ = table(archive, "invitations")
    assert [i["email"] for i in invitations_json] == ["invitee@example.com"]
    (organization,), _ = table(archive, "organization")
    assert organization["name"] == "Acme"

    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert MARK.encode() not in everything  # no row of Globex
    assert b"Globex" not in everything
    assert b"SECRET-HASH-9" not in everything  # no secrets
    assert b"hash-of-" not in everything


def test_the_requester_is_emailed_a_link_that_downloads_the_zip_and_is_audited(org, owner):
    client = client_for(owner)
    export = request_export(client)

    assert mail.outbox[-1].to == [owner.user.email]
    assert "24 hours" in mail.outbox[-1].body
    assert getattr(mail.outbox[-1], "alternatives", None)  # the HTML part, in the layout
    response = client.get(link_path())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")
    actions = list(
        AuditEvent.objects.for_organization(org.pk)
        .filter(action__startswith="export.")
        .values_list("action", "target_id", "actor_id")
    )
    assert sorted(actions) == [
        ("export.download", str(export.pk), owner.user_id),
        ("export.request", str(export.pk), owner.user_id),
    ]


def test_another_admin_may_download_but_not_a_member_nor_another_organization(
    org, owner, other_org
):
    request_export(client_for(owner))
    path = link_path()

    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    assert client_for(admin).get(path).status_code == 200
    member = MembershipFactory(organization=org, role=Role.MEMBER)
    assert client_for(member).get(path).status_code == 403
    stranger = MembershipFactory(organization=other_org, role=Role.OWNER)
    assert client_for(stranger).get(path).status_code == 404
    anonymous = client_for(owner)
    anonymous.logout()
    response = anonymous.get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    downloads = AuditEvent.objects.for_organization(org.pk).filter(action="export.download")
    assert [(e.actor_id, e.result) for e in downloads.order_by("pk")] == [
        (admin.user_id, "success"),
        (member.user_id, "denied"),
    ]
    assert not AuditEvent.objects.for_organization(other_org.pk).exists()


def test_a_demoted_requester_can_no_longer_download(org, owner):
    MembershipFactory(organization=org, role=Role.OWNER)
    client = client_for(owner)
    request_export(client)
    Membership.objects.for_organization(org.pk).filter(pk=owner.pk).update(role=Role.MEMBER)
    assert client.get(link_path()).status_code == 403


def test_an_expired_link_and_an_expired_file_are_not_found(org, owner):
    client = client_for(owner)
    export = request_export(client)
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        stale = f"/exports/download/{exports.link_token(export.pk)}/"
    response = client.get(stale)
    assert response.status_code == 404
    assert b"This download link has expired" in response.content
    assert client.get("/exports/download/12:abc:forged/").status_code == 404

    fresh = link_path()
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    assert client.get(fresh).status_code == 404


def test_the_prune_deletes_expired_files_and_keeps_the_row(
    org, owner, export_storage, django_capture_on_commit_callbacks
):
    export = request_export(client_for(owner))
    assert storages["exports"].exists(str(export.file.name))
    assert call(exports.export_prune, SYSTEM) == 0
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())

    from organizations.export_tasks import prune_exports

    prune_exports.enqueue()
    with django_capture_on_commit_callbacks(execute=True):
        run_tasks()
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED
    assert not export.file
    assert not any(export_storage.rglob("*.zip"))


def test_deleting_the_organization_deletes_its_exports_files(
    org, owner, export_storage, django_capture_on_commit_callbacks
):
    request_export(client_for(owner))
    assert any(export_storage.rglob("*.zip"))
    with django_capture_on_commit_callbacks(execute=True):
        org.delete()
    assert not DataExport.objects.exists()
    assert not any(export_storage.rglob("*.zip"))


def test_one_export_runs_at_a_time_and_a_day_allows_a_few(org, owner, settings):
    settings.EXPORTS_PER_DAY = 2
    client = client_for(owner)
    assert client.post("/exports/request/").status_code == 302
    response = client.post("/exports/request/", follow=True)
    assert b"An export of this organization is being prepared" in response.content
    assert DataExport.objects.count() == 1
    run_tasks()
    request_export(client)
    response = client.post("/exports/request/", follow=True)
    assert b"2 exports a day at most" in response.content
    assert DataExport.objects.count() == 2


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_may_not_export_on_the_page(org, owner, role):
    client = client_for(MembershipFactory(organization=org, role=role))
    page = client.get("/organization/settings/")
    assert page.status_code == 200
    assert b"Export data" not in page.content
    assert client.post("/exports/request/").status_code == 403
    assert not DataExport.objects.exists()


def test_the_settings_page_lists_recent_exports_with_their_links(org, owner):
    client = client_for(owner)
    page = client.get("/organization/settings/")
    assert b"Export data" in page.content
    request_export(client)
    page = client.get("/organization/settings/")
    assert b"ready" in page.content
    listed = re.search(r'href="(/exports/download/[^"]+)"', page.text)
    assert listed
    assert client.get(listed.group(1)).status_code == 200


def test_the_api_requests_and_lists_with_the_scope_only(api, org, make_key, other_org, settings):
    key = make_key(Role.ADMIN, permissions=["organization.export"])
    response = api.post("/api/v1/exports", content_type="application/json", **bearer(key))
    assert response.status_code == 202, response.content
    created = response.json()
    assert created["status"] == "pending"
    assert created["download_url"] is None
    run_tasks()
    listed = api.get("/api/v1/exports", **bearer(key)).json()
    assert [(e["id"], e["status"]) for e in listed] == [(created["id"], "ready")]
    assert listed[0]["requested_by"].startswith("API key “test key”")
    requesting_key = ApiKey.objects.unscoped().get(organization=org)
    creator = requesting_key.created_by
    assert creator is not None
    assert mail.outbox[-1].to == [creator.email]

    unscoped = make_key(Role.ADMIN, permissions=["member.read"])
    response = api.post("/api/v1/exports", content_type="application/json", **bearer(unscoped))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    member_key = make_key(Role.MEMBER)
    assert api.get("/api/v1/exports", **bearer(member_key)).status_code == 403
    globex_key = make_key(Role.OWNER, organization=other_org)
    assert api.get("/api/v1/exports", **bearer(globex_key)).json() == []
    # The requesting key downloads its own export; another key with the scope does not.
    path = listed[0]["download_url"].removeprefix(settings.SITE_URL)
    response = api.get(path, **bearer(key))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    other = make_key(Role.OWNER, permissions=["organization.export"])
    assert api.get(path, **bearer(other)).status_code == 404
    downloads = AuditEvent.objects.for_organization(org.pk).filter(action="export.download")
    assert [e.api_key_id for e in downloads] == [requesting_key.pk]


def test_every_tenant_table_is_exported_or_excluded_with_a_reason():
    assert check_exports_cover_tenant_tables() == []
    assert uncovered([d.exports for d in DOMAINS if d.exports], [d.label for d in DOMAINS]) == []
    # A manifest that declares nothing leaves its tables out, and the check says so.
    assert "workspace_records.WorkspaceRecord" in uncovered([], ["workspace_records"])
    for domain in DOMAINS:
        for label, reason in domain.exports.excluded.items() if domain.exports else ():
            assert reason.strip(), label
