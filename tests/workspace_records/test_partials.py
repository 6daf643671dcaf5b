"""The records list's rows partial (`X-Partial: rows`, kernel/rendering.py render_page):
the rows alone, rendered by the same template as the page, refused exactly as the page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kernel.permissions import Role
from tests.conftest import client_for
from tests.workspace_records.test_plan_limits import fill
from workspace_records.models import WorkspaceRecord

ROWS = {"X-Partial": "rows"}


def rows_of(html: str) -> str:
    """The tbody's content of a full page."""
    found = re.search(r"<tbody data-live-rows[^>]*>(.*?)</tbody>", html, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("role", list(Role))
def test_the_rows_partial_is_the_pages_rows_for_every_role(role, team, org):
    WorkspaceRecord.objects.create(organization=org, title="Quarterly <plan>")
    client = client_for(team[role])
    page = client.get("/records/").content.decode()
    partial = client.get("/records/", headers=ROWS)

    assert partial.status_code == 200
    html = partial.content.decode()
    assert html.strip() == rows_of(page).strip()  # one template: same markup, same date format
    assert "<html" not in html
    assert "<thead" not in html
    assert "New record" not in html
    assert "Quarterly &lt;plan&gt;" in html
    assert "X-Partial" in partial["Vary"]


def test_an_empty_list_keeps_its_empty_row(team):
    html = client_for(team[Role.MEMBER]).get("/records/", headers=ROWS).content.decode()
    assert "No records yet." in html
    assert "empty-row" in html


def test_the_partial_follows_the_pages_filters(team, org):
    WorkspaceRecord.objects.create(organization=org, title="alpha")
    WorkspaceRecord.objects.create(organization=org, title="beta")
    html = client_for(team[Role.MEMBER]).get("/records/?search=alp", headers=ROWS).content.decode()
    assert "alpha" in html
    assert "beta" not in html


def test_an_unknown_partial_is_a_bad_request(team):
    client = client_for(team[Role.MEMBER])
    for name in ("secret", "", "rows#x", "main"):
        response = client.get("/records/", headers={"X-Partial": name})
        assert response.status_code == 400, name
        assert b"<tr" not in response.content


def test_a_page_without_partials_offers_none(team, org):
    record = WorkspaceRecord.objects.create(organization=org, title="One")
    response = client_for(team[Role.MEMBER]).get(f"/records/{record.pk}/", headers=ROWS)
    assert response.status_code == 400


def test_refusals_are_the_full_pages(team, org, other_org, member):
    theirs = WorkspaceRecord.objects.create(organization=other_org, title="Not yours")
    stranger = client_for(member(Role.OWNER, organization=other_org))
    ours = client_for(team[Role.MEMBER])
    signed_out = Client()
    cases = [
        (signed_out, "/records/"),  # → sign-in
        (ours, f"/records/{theirs.pk}/"),  # another organization's record → not found
        (ours, f"/records/{theirs.pk}/delete/"),
        (client_for(team[Role.VIEWER]), "/organization/api-keys/"),  # wrong role → forbidden
    ]
    for client, url in cases:
        full, partial = client.get(url), client.get(url, headers=ROWS)
        assert partial.status_code == full.status_code != 200, url
        assert partial.get("Location") == full.get("Location"), url
        assert b"Not yours" not in partial.content
    # the stranger's own list shows their organization only, in the partial too
    assert b"Not yours" in stranger.get("/records/", headers=ROWS).content
    assert b"Not yours" not in ours.get("/records/", headers=ROWS).content


def test_a_post_is_never_answered_with_a_partial(team):
    response = client_for(team[Role.MEMBER]).post("/records/", {"title": ""}, headers=ROWS)
    assert response.status_code == 422
    assert b"<html" in response.content


def test_a_plan_limit_links_to_the_plans_for_whoever_may_upgrade(org, member):
    fill(org.pk)
    owner = client_for(member(Role.OWNER)).post("/records/", {"title": "one more"})
    assert owner.status_code == 402
    assert (
        'The Free plan allows up to 100 records. <a href="/billing/plans/">Upgrade to Pro</a> '
        "for more." in owner.content.decode()
    )
    # a member cannot upgrade: the message, no link they could not follow
    refused = client_for(member(Role.MEMBER)).post("/records/", {"title": "one more"})
    assert "Upgrade to Pro for more." in refused.content.decode()
    assert 'href="/billing/plans/"' not in refused.content.decode()
