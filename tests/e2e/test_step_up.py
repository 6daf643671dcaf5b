"""Step-up in a browser: a passkey added right after a password + authenticator-app
sign-in asks for nothing more (issue 14: it asked for the password again)."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.accounts.helpers import PASSWORD, secret_code
from tests.browser import browser_user, sign_in
from tests.e2e.test_passkeys import add_virtual_authenticator
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_passkey_right_after_a_two_factor_sign_in(browser, artifacts):
    user = browser_user("twofactor@example.com")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    with app_server() as server:
        base = server.replace("127.0.0.1", "localhost")  # WebAuthn needs a secure context
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        add_virtual_authenticator(context, page)

        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/2fa/authenticate/")
        page.fill("input[name=code]", secret_code(secret, time.time()))
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/2fa/authenticate/" not in url)

        page.goto(f"{base}/accounts/2fa/webauthn/add/")
        assert "/reauthenticate" not in page.url  # no second password prompt
        page.click("#mfa_webauthn_add")
        page.wait_for_url(lambda url: "/webauthn/add/" not in url)
        page.screenshot(path=str(artifacts / "passkey-after-two-factor-sign-in.png"))
        assert Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()
        context.close()


def test_deleting_the_account_asks_on_submit_and_keeps_what_was_typed(browser, artifacts):
    from accounts.models import User
    from kernel.permissions import Role
    from tests.factories import MembershipFactory, OrganizationFactory

    leaving = browser_user("leaving@example.com")
    MembershipFactory(organization=OrganizationFactory(name="Solo"), user=leaving)
    owner = browser_user("owner@example.com")
    shared = OrganizationFactory(name="Shared Works")
    MembershipFactory(organization=shared, user=owner, role=Role.OWNER)
    MembershipFactory(organization=shared, role=Role.MEMBER)
    with app_server() as base:
        # The only owner of a shared organization is told at once, and offered no form.
        context, page = sign_in(browser, base, owner.email, "/account/delete/")
        assert "You are the only owner of Shared Works" in page.inner_text("main")
        assert page.locator("input[name=confirm_email]").count() == 0
        page.screenshot(path=str(artifacts / "delete-blocked-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "delete-blocked-390.png"), full_page=True)
        context.close()

        context, page = sign_in(browser, base, leaving.email, "/account/delete/")
        page.fill("input[name=confirm_email]", leaving.email)  # no step-up to look
        page.click("text=Delete my account")
        page.wait_for_url("**/account/step-up/account.delete/**")
        page.click("text=Enter your password")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/account/delete/")
        assert page.input_value("input[name=confirm_email]") == leaving.email  # kept
        page.screenshot(path=str(artifacts / "delete-after-step-up-1280.png"), full_page=True)
        page.click("text=Delete my account")
        page.wait_for_url(lambda url: "/account/delete/" not in url)
        assert not User.objects.filter(email=leaving.email).exists()
        context.close()
