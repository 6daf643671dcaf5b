"""Browser tests' fixtures: Debian's Chromium driven by Playwright (never a downloaded
browser). A pytest plugin (tests/conftest.py loads it), so every app's tests may drive a
browser: mark them `e2e` and ask for `browser`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop running in the test's thread, which makes
    Django refuse ORM calls there; these tests make them only between browser steps."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser(_orm_beside_playwright: None) -> Iterator[object]:
    """Per test: Playwright's event loop must not outlive the test (it would make Django
    treat every later test as async code)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def browser_user(email: str):
    """A verified user whose password the server processes can check: they use the
    production hashers, not the fast one the test process is configured with."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from tests.accounts.helpers import PASSWORD, make_verified_user

    user = make_verified_user(email)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt", iterations=1000)
    user.save(update_fields=["password"])
    return user


def sign_in(browser, base: str, email: str, path: str = "", *, width=1280, javascript=True):
    """A new browser context signed in as `email` through the sign-in page of the server
    at `base`, then showing `path` (if given)."""
    from tests.accounts.helpers import PASSWORD

    context = browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    if path:
        page.goto(f"{base}{path}")
    return context, page


def signed_in_page(browser, base: str, email: str, path: str = "/organization/"):
    """`sign_in`, showing `path` with the live client loaded."""
    context, page = sign_in(browser, base, email, path, width=1100)
    page.wait_for_function("() => window.live !== undefined")
    return context, page


def sign_out(page) -> None:
    """Through the header's user menu, as a person would."""
    page.click("[data-user-menu] summary")
    page.click("[data-user-menu] button:text-is('Sign out')")
