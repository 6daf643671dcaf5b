"""The step-up guard: levels, grants, emailed codes, and the pages that use them."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest
from django.test import Client, RequestFactory

from accounts import pending
from accounts.models import SecurityEvent, StepUpCode, StepUpGrant, User
from accounts.stepup import (
    CODE_MAX_ATTEMPTS,
    CODE_RESEND_COOLDOWN_SECONDS,
    issue_code,
    redeem_code,
)
from kernel.actor import API_KEY, Actor, Person
from kernel.actors import session_authentication
from kernel.errors import AppError, ErrorCode
from kernel.permissions import Role
from kernel.sensitive import SENSITIVE_ACTIONS, UnknownSensitiveActionError
from kernel.stepup import require_step_up
from tests.accounts.helpers import (
    PASSWORD,
    code_in_last_mail,
    link_in_last_mail,
    login,
    make_verified_user,
)
from tests.factories import MembershipFactory
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db

LEVEL = {1: "account.sign_out_sessions", 3: "account.change_password", 4: "account.delete"}
ORG_LEVEL_2 = "api_keys.create"


def request_for(client: Client, user: User) -> HttpRequest:
    """A request carrying the client's real session, as the guard sees it in a view."""
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key=client.session.session_key)
    request.user = user
    return request


def principal_for(client: Client, user: User, organization_id: int | None = None) -> Actor | Person:
    """The principal the kernel resolves from the client's session (an Actor in
    `organization_id` for organization-scoped actions)."""
    auth = session_authentication(request_for(client, user).session, user)
    if organization_id is None:
        return Person(user.pk, auth)
    return Actor(user.pk, organization_id, Role.OWNER, auth=auth)


def allowed(
    client: Client, user: User, action: str, organization_id: int | None = None, consume=True
) -> bool:
    try:
        require_step_up(principal_for(client, user, organization_id), action, consume=consume)
    except AppError as error:
        if error.code != ErrorCode.STEP_UP_REQUIRED:
            raise
        return False
    return True


@pytest.fixture
def user() -> User:
    return make_verified_user("ada@example.com")


@pytest.fixture
def signed_in(client: Client, user: User) -> Client:
    assert login(client, user.email).status_code == 302
    return client


def remember_pending(client: Client, action: str, organization_id: int | None = None) -> None:
    session = client.session
    session[pending.SESSION_KEY] = {
        "action": action,
        "next_url": "/account/",
        "organization_id": organization_id,
        "started_at": time.time(),
    }
    session.save()


def reauthenticate(client: Client, action: str, organization_id: int | None = None) -> None:
    remember_pending(client, action, organization_id)
    response = client.post(
        "/accounts/reauthenticate/?next=/account/step-up/done/", {"password": PASSWORD}
    )
    assert response.status_code == 302


# --- levels -----------------------------------------------------------------------------


def test_a_fresh_sign_in_satisfies_levels_1_and_2_only(signed_in, user):
    assert allowed(signed_in, user, LEVEL[1])
    assert allowed(signed_in, user, ORG_LEVEL_2, organization_id=1)
    assert not allowed(signed_in, user, LEVEL[3])
    assert not allowed(signed_in, user, LEVEL[4])


def test_a_stale_session_satisfies_no_level(signed_in, user):
    with time_machine.travel(time.time() + settings.STEP_UP_FRESH_SESSION_SECONDS + 5):
        assert not allowed(signed_in, user, LEVEL[1])
        assert not allowed(signed_in, user, ORG_LEVEL_2, organization_id=1)


def test_level_2_accepts_a_recent_re_authentication(signed_in, user):
    later = time.time() + settings.STEP_UP_FRESH_SESSION_SECONDS + 5
    with time_machine.travel(later):
        signed_in.post("/accounts/reauthenticate/", {"password": PASSWORD})
        assert allowed(signed_in, user, ORG_LEVEL_2, organization_id=1)
        assert not allowed(signed_in, user, LEVEL[1])  # level 1 is about the sign-in
        assert not allowed(signed_in, user, LEVEL[3])  # no grant was asked for


def test_level_3_needs_a_grant_for_that_action(signed_in, user):
    reauthenticate(signed_in, LEVEL[3])
    assert allowed(signed_in, user, LEVEL[3])
    assert allowed(signed_in, user, LEVEL[3])  # not single-use below level 4
    assert not allowed(signed_in, user, "account.change_email")  # scoped to the action
    assert StepUpGrant.objects.get().method == "password"


def test_level_4_grant_works_once(signed_in, user):
    reauthenticate(signed_in, LEVEL[4])
    assert allowed(signed_in, user, LEVEL[4], consume=False)  # looking does not spend it
    assert allowed(signed_in, user, LEVEL[4])
    assert not allowed(signed_in, user, LEVEL[4])


def test_a_grant_belongs_to_its_session(signed_in, user):
    reauthenticate(signed_in, LEVEL[3])
    other = Client()
    login(other, user.email)
    assert not allowed(other, user, LEVEL[3])


def test_organization_scoped_grants_do_not_cross_organizations(signed_in, user):
    reauthenticate(signed_in, "organization.transfer", organization_id=7)
    assert allowed(signed_in, user, "organization.transfer", organization_id=7)
    assert not allowed(signed_in, user, "organization.transfer", organization_id=8)


def test_grant_expiry_flips_the_guard(signed_in, user):
    reauthenticate(signed_in, LEVEL[3])
    assert allowed(signed_in, user, LEVEL[3])
    with time_machine.travel(time.time() + settings.STEP_UP_GRANT_SECONDS + 1):
        assert not allowed(signed_in, user, LEVEL[3])


def test_api_keys_never_satisfy_step_up(signed_in, user):
    reauthenticate(signed_in, LEVEL[3])
    with pytest.raises(AppError) as raised:
        require_step_up(Actor(None, 1, Role.OWNER, auth=API_KEY, api_key_id=1), LEVEL[3])
    assert raised.value.code == ErrorCode.STEP_UP_REQUIRED
    assert raised.value.status == 403


def test_unknown_actions_are_errors_not_allows(signed_in, user):
    with pytest.raises(UnknownSensitiveActionError):
        require_step_up(principal_for(signed_in, user), "account.teleport")


def test_the_registry_has_the_issue_levels():
    levels = {name: action.level for name, action in SENSITIVE_ACTIONS.items()}
    assert levels["account.change_email"] == 3
    assert levels["account.change_password"] == 3
    assert levels["mfa.remove_authenticator"] == 3
    assert levels["account.delete"] == 4


# --- emailed codes (accounts without a password) -----------------------------------------


@pytest.fixture
def passwordless(client: Client) -> tuple[Client, User]:
    user = make_verified_user("code@example.com", password=None)
    client.force_login(user)
    return client, user


def test_an_emailed_code_grants_once_and_is_stored_hashed(passwordless):
    client, user = passwordless
    request = request_for(client, user)
    code = issue_code(request, LEVEL[3])

    assert not StepUpCode.objects.filter(code_hash__contains=code).exists()
    assert redeem_code(request, LEVEL[3], code)
    assert allowed(client, user, LEVEL[3])
    assert not redeem_code(request, LEVEL[3], code)  # used


def test_an_emailed_code_expires(passwordless):
    client, user = passwordless
    code = issue_code(request_for(client, user), LEVEL[3])
    with time_machine.travel(time.time() + settings.STEP_UP_CODE_SECONDS + 1):
        assert not redeem_code(request_for(client, user), LEVEL[3], code)


def test_an_emailed_code_dies_after_too_many_attempts(passwordless):
    client, user = passwordless
    request = request_for(client, user)
    code = issue_code(request, LEVEL[3])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(CODE_MAX_ATTEMPTS):
        assert not redeem_code(request, LEVEL[3], wrong)
    assert not redeem_code(request, LEVEL[3], code)  # right, but too late
    assert not allowed(client, user, LEVEL[3])


def test_codes_have_a_resend_cooldown(passwordless):
    client, user = passwordless
    issue_code(request_for(client, user), LEVEL[3])
    with pytest.raises(AppError) as raised:
        issue_code(request_for(client, user), LEVEL[3])
    assert raised.value.code == ErrorCode.RATE_LIMITED
    with time_machine.travel(time.time() + CODE_RESEND_COOLDOWN_SECONDS + 1):
        issue_code(request_for(client, user), LEVEL[3])


def test_a_code_for_one_action_does_not_grant_another(passwordless):
    client, user = passwordless
    code = issue_code(request_for(client, user), LEVEL[3])
    assert not redeem_code(request_for(client, user), "account.change_email", code)


def test_the_step_up_page_emails_a_code_and_returns_to_the_page(passwordless):
    client, _ = passwordless
    page = "/account/step-up/account.change_password/?next=/accounts/password/set/"
    response = client.get(page)
    assert b"Email me a code" in response.content
    assert b"Enter your password" not in response.content

    client.post(page, {"send_code": "1"})
    code = code_in_last_mail()
    assert "code@example.com" in sent_mail()[-1].to
    response = client.post(page, {"code": code})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/set/"
    assert client.get("/accounts/password/set/").status_code == 200


def test_sending_a_code_redirects_so_a_refresh_sends_no_second_mail(passwordless):
    client, _ = passwordless
    page = "/account/step-up/account.change_password/?next=/accounts/password/set/"
    sent = client.post(page, {"send_code": "1"})
    assert (sent.status_code, sent["Location"]) == (302, page)
    assert len(sent_mail()) == 1

    shown = client.get(page).content.decode()  # what a refresh after the redirect does
    assert "Send a new code" in shown
    assert len(sent_mail()) == 1


# --- the pages and the audit trail --------------------------------------------------------


def test_sensitive_pages_send_the_user_through_step_up_and_back(signed_in):
    response = signed_in.get("/accounts/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/account.change_password/")

    step_up_page = signed_in.get(response["Location"])
    assert b"Enter your password" in step_up_page.content
    back = signed_in.post(
        "/accounts/reauthenticate/?next=/account/step-up/done/", {"password": PASSWORD}
    )
    assert signed_in.get(back["Location"])["Location"] == "/accounts/password/change/"
    assert signed_in.get("/accounts/password/change/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/change/",
        "/accounts/2fa/totp/deactivate/",
        "/accounts/2fa/webauthn/keys/1/remove/",
    ],
)
def test_every_sensitive_page_is_guarded(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/")


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/email/", {"action_add": "", "email": "new@example.com"}),
        ("/accounts/email/", {"action_remove": "", "email": "ada@example.com"}),
        ("/account/delete/", {"confirm_email": "ada@example.com"}),
    ],
)
def test_pages_that_ask_only_when_the_change_is_sent(signed_in, user, path, data):
    """Regression: opening Account → Email (or Delete) asked for a password to look."""
    assert signed_in.get(path).status_code == 200
    data = {key: value.replace("ada@example.com", user.email) for key, value in data.items()}
    response = signed_in.post(path, data)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/")


def test_every_step_up_attempt_is_audited(signed_in, user):
    remember_pending(signed_in, LEVEL[3])
    signed_in.post("/accounts/reauthenticate/?next=/", {"password": "wrong-password"})
    signed_in.post("/accounts/reauthenticate/?next=/", {"password": PASSWORD})
    events = list(SecurityEvent.objects.order_by("created_at").values_list("kind", "result"))
    assert events == [("step_up.password", "failure"), ("step_up.password", "success")]


def test_password_change_signs_out_other_sessions(signed_in, user):
    other = Client()
    login(other, user.email)
    assert other.get("/account/").status_code == 200

    reauthenticate(signed_in, LEVEL[3])
    new = "a-Brand-new-passphrase-99"
    response = signed_in.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )

    assert response.status_code == 302
    assert signed_in.get("/account/").status_code == 200  # this session stays
    assert other.get("/account/").status_code == 302  # the other one is signed out


def test_the_sessions_page_lists_sessions(signed_in, user):
    other = Client(HTTP_USER_AGENT="Other Browser/1.0")
    login(other, user.email)
    page = signed_in.get("/accounts/sessions/")
    assert page.status_code == 200
    assert b"Other Browser" in page.content


# --- the JSON API never performs a sensitive action without step-up ---------------------


def test_the_api_answers_step_up_required_and_does_nothing(user):
    client = Client(enforce_csrf_checks=False)
    login(client, user.email)
    MembershipFactory(user=user, role=Role.OWNER)

    response = client.delete(
        "/api/v1/account", {"confirm_email": user.email}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "step_up_required"
    assert User.objects.filter(pk=user.pk).exists()


def test_the_api_performs_it_after_a_step_up(user):
    client = Client()
    login(client, user.email)
    MembershipFactory(user=user, role=Role.OWNER)
    reauthenticate(client, LEVEL[4])

    confirmed = {"confirm_email": user.email}
    assert (
        client.delete("/api/v1/account", confirmed, content_type="application/json").status_code
        == 204
    )
    assert not User.objects.filter(pk=user.pk).exists()


def test_changing_email_needs_step_up_and_re_verification(signed_in, user):
    reauthenticate(signed_in, "account.change_email")
    response = signed_in.post(
        "/accounts/email/", {"action_add": "", "email": "ada.new@example.com"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "ada@example.com"  # not until the new address is verified

    assert "ada.new@example.com" in sent_mail()[-1].to
    signed_in.post(link_in_last_mail())

    user.refresh_from_db()
    assert user.email == "ada.new@example.com"


def test_the_step_up_page_for_an_unknown_action_is_not_found(signed_in):
    response = signed_in.get("/account/step-up/account.teleport/")
    assert response.status_code == 404
    assert b"There is no such action." in response.content
