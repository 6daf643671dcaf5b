"""Passkeys end to end: Chromium's virtual authenticator stands in for a security key."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from tests.accounts.helpers import PASSWORD
from tests.browser import browser_user, sign_out
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def add_virtual_authenticator(context, page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def test_add_a_passkey_then_sign_in_with_it_alone(browser, artifacts):
    user = browser_user("passkey@example.com")
    with app_server() as server:
        passkey_round_trip(browser, server.replace("127.0.0.1", "localhost"), user, artifacts)


def passkey_round_trip(browser, base, user, artifacts) -> None:  # localhost: a secure context
    context = browser.new_context()
    page = context.new_page()
    add_virtual_authenticator(context, page)

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.goto(f"{base}/accounts/reauthenticate/?next=/accounts/2fa/webauthn/add/")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/webauthn/add/")
    page.check("input[name=passwordless]")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    page.screenshot(path=str(artifacts / "passkey-added.png"))
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()

    # Sign out, then sign in with the passkey alone (no email, no password).
    sign_out(page)
    page.goto(f"{base}/accounts/login/")
    page.click("text=Sign in with a passkey")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    page.screenshot(path=str(artifacts / "passkey-signed-in.png"))
    assert user.email in page.content()

    # With a password, the key is now the second step, and it is offered there.
    sign_out(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/authenticate/")
    page.click("text=Use a security key")
    page.wait_for_url(lambda url: "/2fa/authenticate/" not in url)
    assert user.email in page.content()
    context.close()


def test_on_an_ip_address_the_sign_in_page_explains_and_links_localhost(browser, artifacts):
    """WebAuthn refuses an IP address as relying party id: the page says so and links the
    same page on localhost, where the passkey button works."""
    with app_server() as server:
        assert "127.0.0.1" in server
        page = browser.new_page()
        page.goto(f"{server}/accounts/login/")
        note = page.locator("text=Passkeys don't work on an IP address")
        assert note.is_visible()
        page.click("text=Open this page on localhost")
        page.wait_for_url(server.replace("127.0.0.1", "localhost") + "/accounts/login/")
        assert page.locator("text=Passkeys don't work on an IP address").count() == 0
        page.screenshot(path=str(artifacts / "passkey-localhost-sign-in.png"))
        page.close()
