"""The audit log in words (organizations/audit.py's labels, read through the manifests):
what happened, what was refused and why, on the audit page, the dashboard and the API."""

from __future__ import annotations

import html

import pytest

from kernel.actor import System
from kernel.door import call
from kernel.errors import AppError
from kernel.guard import has_app_permission
from kernel.manifest import audit_label
from kernel.permissions import Role
from organizations import mutations
from organizations.audit import AuditAction, audit
from organizations.models import AuditEvent
from tests.conftest import actor_for, client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
AUDIT, DASHBOARD = "/organization/audit/", "/dashboard/"


def test_every_action_is_named_by_the_domain_that_owns_it():
    for action in AuditAction:
        label = audit_label(action.value)
        assert label is not None, action
        assert label.done
        assert label.attempt
        assert action.value not in label.title


def test_a_success_reads_as_a_sentence_on_the_page_the_dashboard_and_the_api(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__display_name="Alice")
    bob = MembershipFactory(organization=org, role=Role.MEMBER, user=UserFactory(email="bob@x.io"))
    call(mutations.member_remove, actor_for(owner), {"membership_id": bob.pk})
    client = client_for(owner)

    page = client.get(AUDIT).content.decode()
    assert "Removed bob@x.io" in page
    assert ">member.remove" not in page
    dashboard = client.get(DASHBOARD).content.decode()
    assert "<strong>Alice</strong> removed bob@x.io" in dashboard
    event = client.get("/api/v1/audit-events").json()["events"][0]
    assert (event["action"], event["summary"]) == ("member.remove", "removed bob@x.io")


def test_a_refusal_says_what_was_tried_and_why(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    with pytest.raises(AppError) as refused:
        call(mutations.member_leave, actor_for(owner))  # the last owner

    event = AuditEvent.objects.for_organization(org.pk).get(action=AuditAction.MEMBER_LEAVE)
    assert (event.reason, event.detail["code"]) == (refused.value.message, "conflict")
    page = client_for(owner).get(AUDIT).content.decode()
    assert "Tried to leave the organization" in page
    assert refused.value.message in page
    assert "Tried to leave" in client_for(owner).get(f"{AUDIT}?result=failure").content.decode()
    assert "tried to leave the organization" in client_for(owner).get(DASHBOARD).content.decode()
    event = client_for(owner).get("/api/v1/audit-events").json()["events"][0]
    assert (event["summary"], event["reason"]) == (
        "tried to leave the organization",
        refused.value.message,
    )


def test_an_old_refusal_without_a_reason_says_refused(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    audit(
        organization_id=org.pk,
        action=AuditAction.MEMBER_REMOVE,
        actor=System(),
        result=AuditEvent.Result.DENIED,
    )
    row = client_for(owner).get(AUDIT).content.decode().split("data-audit-event=")[1]
    assert "Tried to remove a member" in row
    assert "Refused." in row


def test_a_step_up_names_the_sensitive_action_not_its_code(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    audit(
        organization_id=org.pk,
        action=AuditAction.STEP_UP,
        actor=System(),
        target="api_keys.create",
        method="password",
    )
    page = client_for(owner).get(AUDIT).content.decode()
    assert "Confirmed it was them, to create an API key" in page


def test_the_action_filter_offers_words(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    page = client_for(owner).get(AUDIT).content.decode()
    assert '<option value="api_key.revoke" >Revoke an API key</option>' in page
    assert '<option value="billing.grant_create" >Grant a plan</option>' in page


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_holding_audit_read_see_the_log(role, team):
    membership = team[role]
    response = client_for(membership).get(AUDIT)
    may = has_app_permission(actor_for(membership), "audit.read")
    assert response.status_code == (200 if may else 403)
    nav = client_for(membership).get(DASHBOARD).content.decode()
    assert ('href="/organization/audit/"' in nav) is may


def test_another_organizations_events_never_show(org, other_org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    audit(
        organization_id=other_org.pk,
        action=AuditAction.MEMBER_REMOVE,
        actor=System(),
        target="globex-secret@example.com",
    )
    assert "globex-secret" not in client_for(owner).get(AUDIT).content.decode()


def test_a_current_member_reads_as_their_name_a_former_one_as_the_address(org, other_org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    bob = MembershipFactory(organization=org, role=Role.MEMBER, user__display_name="Bob Brown")
    call(
        mutations.member_update_role,
        actor_for(owner),
        {"membership_id": bob.pk, "role": "admin"},
    )
    MembershipFactory(
        organization=other_org, user__email="elsewhere@x.io", user__display_name="Eve"
    )
    audit(
        organization_id=org.pk,
        action=AuditAction.INVITATION_CREATE,
        actor=System(),
        target="elsewhere@x.io",
        role="member",
    )
    page = html.unescape(client_for(owner).get(AUDIT).content.decode())
    assert "Changed Bob Brown's role from member to admin" in page
    assert "Invited elsewhere@x.io as member" in page  # not a member here: no name shown
