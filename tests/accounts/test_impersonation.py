"""Operators viewing as a person (issue 16, point 1): through the real pages, with a real
TOTP step-up, PostgreSQL sessions and the audit log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from accounts.models import ImpersonationSession, SecurityEvent, User
from kernel import actors
from kernel.permissions import Role
from organizations.models import AuditEvent, Membership
from tests.accounts.helpers import PASSWORD, is_signed_in, login, make_verified_user, secret_code

pytestmark = pytest.mark.django_db

REASON = "Ticket 4521: the dashboard looks empty to them"


@dataclass
class Operator:
    user: User
    secret: str
    client: Client
    at: float
    """The time of the last TOTP code used (each code works once)."""


def make_operator(email: str = "ops@example.com", *, two_factor: bool = True) -> Operator:
    user = make_verified_user(email)
    user.is_staff = True
    user.save()
    secret = generate_totp_secret()
    client = Client()
    now = time.time()
    if two_factor:
        TOTP.activate(user, secret)
        assert login(client, email, PASSWORD).status_code == 302
        client.post("/accounts/2fa/authenticate/", {"code": secret_code(secret, now)})
    else:
        assert login(client, email, PASSWORD).status_code == 302
    assert is_signed_in(client)
    return Operator(user, secret, client, now)


@pytest.fixture
def operator() -> Operator:
    return make_operator()


@pytest.fixture
def owner(member) -> Membership:
    return member(Role.OWNER)


def start_url(user: User) -> str:
    return f"/account/view-as/?user={user.pk}"


def step_up(op: Operator, location: str) -> str:
    """Pass the step-up page with the next TOTP code; returns where it sends back."""
    assert location.startswith("/account/step-up/impersonation.start/"), location
    page = op.client.get(location)
    assert b"authenticator" in page.content.lower()
    op.at += 30
    with time_machine.travel(op.at, tick=False):
        back = op.client.post(
            "/accounts/2fa/reauthenticate/?next=/account/step-up/done/",
            {"code": secret_code(op.secret, op.at)},
        )
    assert back.status_code == 302
    done = op.client.get(back["Location"])
    return str(done["Location"])


def start(op: Operator, target: User, reason: str = REASON) -> None:
    asked = op.client.post(start_url(target), {"reason": reason})
    assert asked.status_code == 302
    back = step_up(op, asked["Location"])
    assert back == start_url(target)
    form = op.client.get(back)
    assert reason.encode() in form.content  # what was typed, kept through the step-up
    switched = op.client.post(back, {"reason": reason})
    assert switched.status_code == 302, switched.content
    assert switched["Location"] == "/dashboard/"


def signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


# --- starting -----------------------------------------------------------------------------


def test_an_operator_views_as_a_person_after_a_reason_and_a_single_use_step_up(operator, owner):
    target = owner.user
    page = operator.client.get(start_url(target))
    assert page.status_code == 200
    assert target.email.encode() in page.content

    start(operator, target)

    assert signed_in_as(operator.client) == target.pk
    row = ImpersonationSession.objects.get()
    assert (row.operator_id, row.user_id, row.reason) == (operator.user.pk, target.pk, REASON)
    assert row.expires_at - row.started_at == timedelta(minutes=settings.IMPERSONATION_MINUTES)
    event = SecurityEvent.objects.get(user=target, kind="impersonation.start")
    assert event.detail["operator"] == operator.user.email
    assert event.detail["reason"] == REASON
    # The operator's own trail: the admin's log.
    log = LogEntry.objects.get(user=operator.user, object_id=str(target.pk))
    assert REASON in log.change_message


def test_without_a_reason_nothing_starts(operator, owner):
    refused = operator.client.post(start_url(owner.user), {"reason": "  short "})
    assert refused.status_code == 422
    assert b"errorlist" in refused.content
    assert signed_in_as(operator.client) == operator.user.pk
    assert not ImpersonationSession.objects.exists()


def test_without_the_step_up_nothing_starts_and_the_grant_works_once(operator, owner, member):
    target = owner.user
    asked = operator.client.post(start_url(target), {"reason": REASON})
    assert asked["Location"].startswith("/account/step-up/impersonation.start/")
    assert signed_in_as(operator.client) == operator.user.pk
    assert not ImpersonationSession.objects.exists()
    # One grant, one start: stopping and starting again asks again.
    start(operator, target)
    operator.client.post("/account/view-as/stop/")
    assert signed_in_as(operator.client) == operator.user.pk
    again = operator.client.post(start_url(target), {"reason": REASON})
    assert again["Location"].startswith("/account/step-up/")
    assert ImpersonationSession.objects.count() == 1


def test_people_who_are_not_operators_cannot_start(owner, member):
    other = member(Role.OWNER).user
    client = Client()
    client.force_login(owner.user)
    assert client.get(start_url(other)).status_code == 403
    refused = client.post(start_url(other), {"reason": REASON})
    assert refused.status_code == 403
    assert signed_in_as(client) == owner.user.pk
    assert not ImpersonationSession.objects.exists()


def test_an_operator_without_two_factor_cannot_start(owner):
    op = make_operator("nofactor@example.com", two_factor=False)
    assert op.client.get(start_url(owner.user)).status_code == 403
    assert op.client.post(start_url(owner.user), {"reason": REASON}).status_code == 403
    assert not ImpersonationSession.objects.exists()


def test_an_operator_with_an_unverified_email_cannot_start(operator, owner):
    EmailAddress.objects.filter(user=operator.user).update(verified=False)
    # The admin refuses them too (accounts/middleware.py); the start page says why.
    assert operator.client.get(start_url(owner.user)).status_code == 403
    assert operator.client.post(start_url(owner.user), {"reason": REASON}).status_code == 403
    assert not ImpersonationSession.objects.exists()


@pytest.mark.parametrize("kind", ["staff", "superuser"])
def test_nobody_views_as_another_operator(operator, kind):
    target = make_verified_user(f"{kind}@example.com")
    setattr(target, f"is_{kind}", True)
    target.save()
    asked = operator.client.post(start_url(target), {"reason": REASON})
    assert asked.status_code == 403
    assert b"another operator" in asked.content
    assert not ImpersonationSession.objects.exists()


def test_an_unknown_person_is_not_found(operator):
    assert operator.client.get("/account/view-as/?user=999999").status_code == 404
    assert operator.client.get("/account/view-as/?user=x").status_code == 404


# --- while it lasts -------------------------------------------------------------------------


def test_every_page_shows_the_banner_with_both_names_stop_and_the_time_left(operator, owner):
    start(operator, owner.user)
    for path in ("/dashboard/", "/organization/", "/account/profile/", "/billing/"):
        page = operator.client.get(path)
        assert page.status_code == 200, path
        text = page.content.decode()
        assert "data-impersonation" in text, path
        assert f"Viewing as {owner.user.email}" in text
        assert operator.user.email in text
        assert 'action="/account/view-as/stop/"' in text
        assert "csrfmiddlewaretoken" in text
        assert f"{settings.IMPERSONATION_MINUTES} min left" in text


def test_no_banner_without_an_impersonation(owner):
    client = Client()
    client.force_login(owner.user)
    assert b"data-impersonation" not in client.get("/dashboard/").content


def test_the_audit_row_records_the_person_and_the_operator(operator, owner):
    start(operator, owner.user)
    renamed = operator.client.post("/organization/settings/", {"name": "Renamed by support"})
    assert renamed.status_code == 302
    row = AuditEvent.objects.unscoped().filter(organization=owner.organization).latest("id")
    assert row.actor_id == owner.user.pk
    assert row.operator_id == operator.user.pk
    assert operator.user.email in row.operator_label


def test_the_actor_of_an_impersonated_session_carries_the_operator(operator, owner):
    """What the socket uses too: session_authentication on the stored session."""
    start(operator, owner.user)
    session = SessionStore(session_key=operator.client.session.session_key)
    auth = actors.session_authentication(session, owner.user)
    assert auth.operator_id == operator.user.pk
    assert auth.operator_label == f"operator {operator.user.email}"
    plain = Client()
    plain.force_login(owner.user)
    own = SessionStore(session_key=plain.session.session_key)
    assert actors.session_authentication(own, owner.user).operator_id is None


def test_sensitive_actions_are_refused(operator, owner):
    start(operator, owner.user)
    client = operator.client
    # A function with a step-up level: creating an API key.
    # The page sends to the step-up, which is refused to the operator: a message, not a 500.
    data = {"name": "x", "permissions": ["notes.read"]}
    key = client.post("/organization/api-keys/", data, follow=True)
    assert key.status_code == 200
    assert b"viewing as another person" in key.content
    # Deleting the organization (a step-up level too).
    gone = client.post(
        "/organization/delete/", {"confirm_name": owner.organization.name}, follow=True
    )
    assert gone.status_code == 200
    assert b"viewing as another person" in gone.content
    assert owner.organization.__class__.objects.filter(pk=owner.organization_id).exists()
    from organizations.models import ApiKey

    assert not ApiKey.objects.unscoped().exists()


def test_billing_changes_are_refused(operator, owner):
    start(operator, owner.user)
    # Refused by the door (impersonable=False), shown as a message on the billing page.
    for path, data in (
        ("/billing/checkout/", {"plan": "pro_yearly"}),
        ("/billing/portal/", {}),
        ("/billing/cancel/", {}),
        ("/billing/change/", {"plan": "pro_yearly", "confirmed": "yes"}),
    ):
        refused = operator.client.post(path, data)
        assert refused.status_code == 302, path
        assert refused["Location"] == "/billing/", path
        page = operator.client.get("/billing/")
        assert b"viewing as another person" in page.content, path
    assert not AuditEvent.objects.unscoped().filter(action__startswith="billing.").exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/accounts/password/change/"),
        ("get", "/accounts/2fa/totp/activate/"),
        ("get", "/accounts/2fa/recovery-codes/"),
        ("post", "/accounts/email/"),
        ("post", "/accounts/sessions/"),
        ("post", "/account/delete/"),
    ],
)
def test_the_persons_own_account_changes_are_refused(operator, owner, method, path):
    start(operator, owner.user)
    refused = getattr(operator.client, method)(path, {"email": "x@example.com"})
    assert refused.status_code == 302
    assert refused["Location"] == "/dashboard/"
    page = operator.client.get("/dashboard/")
    assert b"viewing as another person" in page.content
    assert User.objects.filter(pk=owner.user.pk).exists()
    assert signed_in_as(operator.client) == owner.user.pk


# --- ending ---------------------------------------------------------------------------------


def test_stop_returns_to_the_operator(operator, owner):
    start(operator, owner.user)
    assert operator.client.get("/account/view-as/stop/").status_code == 405  # POST only
    stopped = operator.client.post("/account/view-as/stop/")
    assert stopped.status_code == 302
    assert stopped["Location"] == f"/admin/accounts/user/{owner.user.pk}/change/"
    assert signed_in_as(operator.client) == operator.user.pk
    row = ImpersonationSession.objects.get()
    assert row.end_reason == "stopped"
    assert row.ended_at is not None
    assert b"data-impersonation" not in operator.client.get("/dashboard/").content


def test_the_session_expires_and_the_next_request_returns_to_the_operator(operator, owner):
    start(operator, owner.user)
    later = time.time() + settings.IMPERSONATION_MINUTES * 60 + 5
    with time_machine.travel(later, tick=False):
        page = operator.client.get("/dashboard/")
        assert page.status_code == 302
        assert page["Location"] == f"/admin/accounts/user/{owner.user.pk}/change/"
        assert signed_in_as(operator.client) == operator.user.pk
    row = ImpersonationSession.objects.get()
    assert row.end_reason == "expired"
    assert row.ended_at == row.expires_at


def test_signing_out_ends_it(operator, owner):
    start(operator, owner.user)
    operator.client.post("/accounts/logout/")
    assert not is_signed_in(operator.client)
    row = ImpersonationSession.objects.get()
    assert row.end_reason == "signed_out"
    assert SecurityEvent.objects.filter(user=owner.user, kind="impersonation.stop").exists()


def test_the_person_sees_it_on_their_security_page(operator, owner):
    start(operator, owner.user)
    operator.client.post("/account/view-as/stop/")
    person = Client()
    person.force_login(owner.user)
    page = person.get("/accounts/2fa/").content.decode()
    assert "Operator access" in page
    assert REASON in page
    assert operator.user.email in page
    assert "for 1 min" in page
    # Nobody else's page shows it.
    other = Client()
    other.force_login(make_verified_user("bystander@example.com"))
    assert REASON not in other.get("/accounts/2fa/").content.decode()


# --- the admin ------------------------------------------------------------------------------


def test_the_admin_links_to_the_start_page_and_its_action_goes_there(operator, owner):
    operator.user.is_superuser = True  # the admin's user list needs the permission
    operator.user.save()
    page = operator.client.get(f"/admin/accounts/user/{owner.user.pk}/change/")
    assert page.status_code == 200
    assert start_url(owner.user).encode() in page.content
    staff_page = operator.client.get(f"/admin/accounts/user/{operator.user.pk}/change/")
    assert b"Not available for operators" in staff_page.content
    acted = operator.client.post(
        "/admin/accounts/user/",
        {"action": "view_as_action", "_selected_action": [owner.user.pk]},
    )
    assert acted.status_code == 302
    assert acted["Location"] == start_url(owner.user)


def test_the_person_viewed_is_told_under_the_bell_and_by_email_whatever_they_chose(
    operator, owner, member
):
    from kernel.models import Notification, NotificationPreference
    from kernel.notifications import notification_text
    from tests.tasks import sent_mail

    bystander = member(Role.OWNER).user
    NotificationPreference.objects.create(user=owner.user, category="security", delivery="off")
    start(operator, owner.user)
    (told,) = Notification.objects.all()
    assert told.user_id == owner.user_id  # not the operator, not the other owner
    assert told.kind == "account.viewed_by_operator"
    assert "ops@example.com" in notification_text(told)
    assert REASON in notification_text(told)
    mailed = [m for m in sent_mail() if m.to == [owner.user.email]]
    assert len(mailed) == 1  # security notices cannot be turned off
    assert not Notification.objects.filter(user=bystander).exists()
