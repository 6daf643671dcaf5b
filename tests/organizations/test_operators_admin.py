"""The operators' admin of organizations (organizations/admin.py, organizations/operators.py):
the list's columns and filters without a query per row, and each action asking a reason
and writing its audit row through the internal mutation, for the chosen organizations
only, for operators only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from billing.mutations import manual_grant_create
from kernel.actor import System
from kernel.door import call
from kernel.functions import Function, Kind
from kernel.permissions import Role
from organizations import operators
from organizations.models import AuditEvent, Membership, Organization
from organizations.operators import short_date
from organizations.suspension import StatusChange, organization_suspend
from tests.accounts.helpers import operator_client
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/organizations/organization/"
REASON = "Chargebacks on three cards"


@pytest.fixture
def ops() -> Client:
    return operator_client()


def act(client: Client, action: str, *organizations: Organization, **form: str) -> Any:
    """Choose `action` for the organizations in the list; with `reason`, confirm it."""
    data: dict[str, Any] = {"action": action, "_selected_action": [o.pk for o in organizations]}
    if "reason" in form:
        data.update(post="yes", **form)
    return client.post(LIST, data)


def flash(response: Any) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_status_plan_members_created_and_last_activity(ops, org, other_org):
    MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    MembershipFactory(organization=other_org, role=Role.OWNER)
    call(
        manual_grant_create,
        System("operator"),
        {"organization_id": org.pk, "plan_code": "team_monthly", "note": "partner"},
    )
    used = timezone.now() + timedelta(days=1)  # later than any audit row of the setup
    Membership.objects.for_organization(org.pk).filter(role=Role.MEMBER).update(last_used_at=used)
    Organization.objects.filter(pk=other_org.pk).update(status="suspended")

    page = ops.get(LIST)
    assert page.status_code == 200
    rows = {row.pk: row for row in page.context["cl"].result_list}
    acme, globex = rows[org.pk], rows[other_org.pk]
    assert (acme.member_count, acme.plan_name, acme.last_activity) == (2, "Team", used)
    assert short_date(used) in page.content.decode()
    assert (globex.member_count, globex.plan_name, globex.status) == (1, "Free", "suspended")
    assert globex.last_activity is None  # nothing recorded there yet
    html = page.content.decode()
    for heading in ("Status", "Plan", "Members", "Created", "Last activity"):
        assert f">{heading}<" in html or f">{heading}</a>" in html, heading


def test_the_list_costs_the_same_queries_for_two_or_twenty_organizations(ops):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert ops.get(LIST).status_code == 200
        return len(captured)

    for _ in range(2):
        MembershipFactory(role=Role.OWNER)
    count_queries()  # the session's first admin page reads a little more, once
    few = count_queries()
    for _ in range(18):
        MembershipFactory(role=Role.OWNER)
    assert count_queries() == few


def test_the_list_filters_by_status_and_by_plan(ops, org, other_org):
    third = OrganizationFactory(name="Initech")
    Organization.objects.filter(pk=other_org.pk).update(status="suspended")
    call(
        manual_grant_create,
        System("operator"),
        {"organization_id": third.pk, "plan_code": "pro_monthly", "note": "trial"},
    )

    def shown(query: str) -> set[int]:
        page = ops.get(f"{LIST}?{query}")
        assert page.status_code == 200
        return {row.pk for row in page.context["cl"].result_list}

    assert shown("status__exact=suspended") == {other_org.pk}
    assert shown("status__exact=active") == {org.pk, third.pk}
    assert shown("plan=Pro") == {third.pk}
    assert shown("plan=Free") == {org.pk, other_org.pk}
    assert shown("plan=Free&status__exact=active") == {org.pk}
    filters = ops.get(LIST).content.decode()
    assert "?plan=Team" in filters
    assert "?status__exact=pending_deletion" in filters


# --- the actions ----------------------------------------------------------------------------


def test_suspending_asks_a_reason_then_writes_each_organization_s_audit_row(ops, org, other_org):
    untouched = OrganizationFactory(name="Untouched")
    asked = act(ops, "suspend", org, other_org)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert 'name="reason"' in page
    assert "Acme" in page
    assert "Globex" in page
    assert "Untouched" not in page
    assert Organization.objects.filter(status="suspended").count() == 0  # nothing yet

    done = act(ops, "suspend", org, other_org, reason=REASON)
    assert done.status_code == 302
    for organization in (org, other_org):
        organization.refresh_from_db()
        assert (organization.status, organization.status_reason) == ("suspended", REASON)
        event = AuditEvent.objects.for_organization(organization.pk).get()
        assert (event.action, event.operator_label, event.detail["note"]) == (
            "organization.suspend",
            "ops@example.com",
            REASON,
        )
    untouched.refresh_from_db()
    assert untouched.status == "active"
    assert not AuditEvent.objects.for_organization(untouched.pk).exists()


def test_a_reason_too_short_is_asked_again_and_changes_nothing(ops, org):
    again = act(ops, "suspend", org, reason="spam")
    assert again.status_code == 200
    assert "at least 10 characters" in again.content.decode()
    org.refresh_from_db()
    assert org.status == "active"
    assert not AuditEvent.objects.for_organization(org.pk).exists()


def test_reactivating_is_audited_and_a_refusal_for_one_organization_spares_the_others(
    ops, org, other_org
):
    call(
        organization_suspend,
        System("operator x", operator_id=UserFactory(is_staff=True).pk),
        {"organization_id": org.pk, "reason": REASON},
    )
    done = act(ops, "reactivate", org, other_org, reason="Paid, and promised to behave")
    assert done.status_code == 302
    org.refresh_from_db()
    assert org.status == "active"
    assert (
        AuditEvent.objects.for_organization(org.pk)
        .filter(action="organization.reactivate", operator_label="ops@example.com")
        .exists()
    )
    assert any("Globex is not suspended." in text for text in flash(done))


@pytest.mark.parametrize(
    ("action", "name"), [("restore", operators.RESTORE), ("purge", operators.PURGE)]
)
def test_restore_and_purge_call_the_deletion_functions_by_name(ops, org, monkeypatch, action, name):
    received: list[tuple[System, StatusChange]] = []

    def body(*, actor: System, args: StatusChange) -> None:
        received.append((actor, args))

    fake = Function(name, Kind.MUTATION, body, StatusChange, None, internal=True)
    monkeypatch.setattr(operators, "FUNCTIONS", {name: fake})
    assert act(ops, action, org).status_code == 200  # the reason first
    assert act(ops, action, org, reason="Deleted by mistake, owner asked").status_code == 302
    [(principal, args)] = received
    assert (args.organization_id, args.reason) == (org.pk, "Deleted by mistake, owner asked")
    assert principal.label == "operator ops@example.com"
    assert principal.operator_id is not None


@pytest.mark.parametrize("action", ["restore", "purge"])
def test_restore_and_purge_say_so_when_the_deletion_functions_are_missing(
    ops, org, monkeypatch, action
):
    monkeypatch.setattr(operators, "FUNCTIONS", {})
    answer = act(ops, action, org)
    assert answer.status_code == 302
    assert any("not available" in text for text in flash(answer))
    assert Organization.objects.filter(pk=org.pk).exists()


def test_view_as_an_owner_asks_a_reason_then_goes_to_the_impersonation_page(ops, org, monkeypatch):
    first_owner = MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.ADMIN)
    from django.urls import reverse as real

    def reverse(name: str, *args: Any, **kwargs: Any) -> str:
        return "/impersonate/" if name == "impersonation_start" else real(name, *args, **kwargs)

    monkeypatch.setattr(operators, "reverse", reverse)
    assert act(ops, "view_as_owner", org).status_code == 200
    gone = act(ops, "view_as_owner", org, reason="Customer reports a broken dashboard")
    assert gone.status_code == 302
    assert gone["Location"] == (
        f"/impersonate/?user={first_owner.user_id}&reason=Customer+reports+a+broken+dashboard"
    )


def test_view_as_an_owner_needs_one_organization_and_the_impersonation_page(ops, org, other_org):
    assert any("exactly one" in text for text in flash(act(ops, "view_as_owner", org, other_org)))
    MembershipFactory(organization=org, role=Role.OWNER)
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("impersonation_start")
    except NoReverseMatch:
        assert any("not available" in text for text in flash(act(ops, "view_as_owner", org)))
    else:  # installed: the reason page
        assert act(ops, "view_as_owner", org).status_code == 200


# --- who may --------------------------------------------------------------------------------


def test_non_staff_never_reach_the_actions(org, member):
    owner = member(Role.OWNER)
    client = Client()
    client.force_login(owner.user)
    answer = act(client, "suspend", org, reason=REASON)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/")
    org.refresh_from_db()
    assert org.status == "active"


def test_staff_without_the_permission_cannot_suspend_and_the_row_is_not_editable(org):
    client = operator_client("viewer@example.com")
    viewer = client.session["_auth_user_id"]
    from accounts.models import User

    user = User.objects.get(pk=viewer)
    user.is_superuser = False
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_organization"))
    page = client.get(LIST)
    assert page.status_code == 200
    assert 'value="suspend"' not in page.content.decode()
    act(client, "suspend", org, reason=REASON)
    org.refresh_from_db()
    assert org.status == "active"
    assert not AuditEvent.objects.for_organization(org.pk).exists()


def test_operators_change_a_status_only_through_the_actions(ops, org):
    form = ops.get(f"{LIST}{org.pk}/change/").content.decode()
    assert 'name="status"' not in form  # shown, not editable
    assert ops.get(f"{LIST}{org.pk}/delete/").status_code == 403  # purge is an action
