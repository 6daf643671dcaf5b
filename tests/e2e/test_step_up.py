"""Step-up in a browser: a passkey added right after a password + authenticator-app
sign-in asks for nothing more (issue 14: it asked for the password again)."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.accounts.helpers import PASSWORD, secret_code
from tests.browser import browser_user
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
