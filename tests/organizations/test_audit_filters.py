"""Owners read the log filtered by who, what, about what and when — on the page, as CSV
and through the API, with the same filters and never another organization's rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import Client

from kernel.actor import System
from kernel.guard import has_app_permission
from kernel.permissions import Role
from organizations.audit import AuditAction, audit
from organizations.models import AuditEvent
from tests.conftest import actor_for, bearer, client_for
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
AUDIT, CSV, API = (
    "/organization/audit/",
    "/organization/audit/audit-log.csv",
    "/api/v1/audit-events",
)


def _event(org, action, actor, target, when, **detail) -> AuditEvent:
    event = audit(organization_id=org.pk, action=action, actor=actor, target=target, **detail)
    AuditEvent.objects.unscoped().filter(pk=event.pk).update(created_at=when)
    return event


@pytest.fixture
def log(org, other_org):
    """Three events in `org` (two people, Stripe; two days) and one in `other_org`."""
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__email="olga@acme.io")
    admin = MembershipFactory(organization=org, role=Role.ADMIN, user__email="adam@acme.io")
    _event(
        org,
        AuditAction.MEMBER_REMOVE,
        actor_for(owner),
        "bob@acme.io",
        datetime(2026, 11, 3, 10, tzinfo=UTC),
    )
    _event(
        org,
        AuditAction.INVITATION_CREATE,
        actor_for(admin),
        "carol@acme.io",
        datetime(2026, 11, 5, 9, tzinfo=UTC),
        role="member",
    )
    _event(
        org,
        "billing.provider_event",
        System("Stripe"),
        "customer.subscription.created",
        datetime(2026, 11, 5, 12, tzinfo=UTC),
        plan="Pro",
    )
    _event(
        other_org,
        AuditAction.MEMBER_REMOVE,
        System("Stripe"),
        "globex-secret@globex.io",
        datetime(2026, 11, 5, 12, tzinfo=UTC),
    )
    return owner


def _rows(client: Client, query: str) -> list[str]:
    page = client.get(f"{AUDIT}?{query}")
    assert page.status_code == 200, page.content
    return [row.split('"')[1] for row in page.content.decode().split("data-audit-event=")[1:]]


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ("", ["billing.provider_event", "invitation.create", "member.remove"]),
        ("actor=olga", ["member.remove"]),
        ("actor=STRIPE", ["billing.provider_event"]),
        ("action=invitation.create", ["invitation.create"]),
        ("target=carol", ["invitation.create"]),
        ("since=2026-11-04", ["billing.provider_event", "invitation.create"]),
        ("until=2026-11-03", ["member.remove"]),
        ("since=2026-11-05&until=2026-11-05&actor=adam", ["invitation.create"]),
        ("since=2026-11-06", []),
    ],
)
def test_the_page_filters_by_actor_action_target_and_dates(log, query, actions):
    assert _rows(client_for(log), query) == actions


def test_the_page_keeps_the_filters_in_its_form_and_its_links(log):
    page = client_for(log).get(f"{AUDIT}?actor=olga&since=2026-11-01").content.decode()
    assert 'name="actor" type="search" value="olga"' in page
    assert 'name="since" type="date" value="2026-11-01"' in page
    assert f'href="{CSV}?actor=olga&amp;since=2026-11-01"' in page
    assert "globex-secret" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-11-05&until=2026-11-01", "Choose an end on or after the start."),
        ("action=member.teleport", "Choose an action from the list."),
        ("since=yesterday", "date"),
    ],
)
def test_bad_filters_are_shown_not_ignored(log, query, message):
    page = client_for(log).get(f"{AUDIT}?{query}")
    assert page.status_code == 422
    assert message in page.content.decode()
    assert "data-audit-event=" not in page.content.decode()
    csv_response = client_for(log).get(f"{CSV}?{query}")
    assert csv_response.status_code == 422


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_the_same_filters_and_every_column(log):
    rows = _csv(client_for(log).get(f"{CSV}?since=2026-11-05"))
    assert [row["action"] for row in rows] == ["billing.provider_event", "invitation.create"]
    stripe = rows[0]
    assert stripe["actor"] == "Stripe"
    assert stripe["summary"] == "Sent “customer.subscription.created”: the plan is now Pro"
    assert stripe["time"].startswith("2026-11-05T12:00:00")
    assert set(rows[1]) >= {"target", "target_type", "result", "reason", "permission", "operator"}
    everything = _csv(client_for(log).get(CSV))
    assert len(everything) == 3
    assert "globex" not in str(everything)


def test_the_csv_streams_every_page_and_quotes_formulas(log, org):
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=org,
            actor_label="system",
            action=AuditAction.MEMBER_REMOVE,
            target=f'=HYPERLINK("http://evil","{n}")',
            result="success",
        )
        for n in range(1_100)
    )
    rows = _csv(client_for(log).get(f"{CSV}?action=member.remove"))
    assert len(rows) == 1_101
    assert len({row["target"] for row in rows}) == 1_101
    assert rows[0]["target"].startswith("'=HYPERLINK(")


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_that_read_the_log_download_it(role, team):
    may = has_app_permission(actor_for(team[role]), "audit.read")
    response = client_for(team[role]).get(CSV)
    assert response.status_code == (200 if may else 403)


def test_the_csv_needs_a_signed_in_member(log):
    assert Client().get(CSV).status_code in (302, 401)


def test_the_api_lists_with_the_same_filters(log, api, make_key, org, other_org):
    headers = bearer(make_key(Role.OWNER))
    found = api.get(f"{API}?actor=adam&since=2026-11-05&until=2026-11-05", **headers)
    assert found.status_code == 200, found.content
    (event,) = found.json()["events"]
    assert (event["action"], event["target"], event["target_type"]) == (
        "invitation.create",
        "carol@acme.io",
        "",
    )
    assert [e["action"] for e in api.get(f"{API}?target=globex", **headers).json()["events"]] == []
    paged = api.get(f"{API}?limit=2", **headers).json()
    assert len(paged["events"]) == 2
    older = api.get(f"{API}?limit=2&before={paged['next_before']}", **headers).json()
    assert [e["action"] for e in older["events"]] == ["member.remove"]
    theirs = bearer(make_key(Role.OWNER, organization=other_org))
    assert [e["target"] for e in api.get(API, **theirs).json()["events"]] == [
        "globex-secret@globex.io"
    ]


def test_the_api_refuses_bad_filters_and_keys_without_the_permission(log, api, make_key):
    headers = bearer(make_key(Role.OWNER))
    bad = api.get(f"{API}?since=2026-11-05&until=2026-11-01", **headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_input"
    assert "until" in bad.json()["error"]["fields"]
    assert api.get(f"{API}?limit=5000", **headers).status_code == 422
    member_key = bearer(make_key(Role.MEMBER))
    refused = api.get(API, **member_key)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
