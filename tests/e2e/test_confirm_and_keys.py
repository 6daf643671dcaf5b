"""Destructive buttons ask first (a dialog with JavaScript, a page without), and a new API
key's secret survives neither a refresh nor a second view."""

from __future__ import annotations

import pytest

from kernel.permissions import Role
from organizations.models import ApiKey
from tests.browser import browser_user, sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _create_key(page, server, name):
    page.goto(f"{server}/organization/api-keys/")
    page.fill("input[name=name]", name)
    page.locator("input[name=permissions]").first.check()
    page.click("button:text-is('Create key')")
    page.wait_for_selector("#created-key")


def _keys(org, name):
    return ApiKey.objects.for_organization(org.pk).filter(name=name)


def test_revoke_asks_in_a_dialog_cancel_keeps_the_key_confirm_revokes(browser, artifacts):
    org = OrganizationFactory(name="Acme")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)
    with app_server() as server:
        context, page = sign_in(browser, server, "owner@example.com")
        _create_key(page, server, "CI deploys")
        secret = page.inner_text("#created-key")
        assert page.locator("[data-copy='#created-key']").count() == 1
        page.screenshot(path=str(artifacts / "api-keys-secret-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "api-keys-secret-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.reload()  # post/redirect/get: no second key, the secret is gone
        assert _keys(org, "CI deploys").count() == 1
        assert secret not in page.content()

        page.click("button:text-is('Revoke')")
        dialog = page.locator("dialog.confirm-dialog[open]")
        dialog.wait_for()
        assert "stops working immediately" in dialog.inner_text()
        page.screenshot(path=str(artifacts / "confirm-dialog-1280.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "confirm-dialog-390.png"))
        page.keyboard.press("Escape")  # cancels
        dialog.wait_for(state="hidden")
        page.click("button:text-is('Revoke')")
        page.click("dialog.confirm-dialog button:text-is('Cancel')")
        assert _keys(org, "CI deploys").get().revoked_at is None

        page.click("button:text-is('Revoke')")
        with page.expect_navigation():
            page.click("dialog.confirm-dialog button:text-is('Revoke key')")
        assert _keys(org, "CI deploys").get().revoked_at is not None
        context.close()


def test_without_javascript_the_confirmation_is_a_page(browser, artifacts):
    org = OrganizationFactory(name="Acme")
    MembershipFactory(organization=org, user=browser_user("owner@example.com"), role=Role.OWNER)
    with app_server() as server:
        context, page = sign_in(browser, server, "owner@example.com", javascript=False)
        _create_key(page, server, "Nightly")
        page.click("button:text-is('Revoke')")
        page.wait_for_selector("h1:text-is('Are you sure?')")
        assert "“Nightly” stops working immediately" in page.inner_text("main")
        page.screenshot(path=str(artifacts / "confirm-page-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "confirm-page-390.png"), full_page=True)
        page.click("a:text-is('Cancel')")
        assert _keys(org, "Nightly").get().revoked_at is None

        page.click("button:text-is('Revoke')")
        page.click("button:text-is('Revoke key')")
        page.wait_for_url(f"{server}/organization/api-keys/")
        assert _keys(org, "Nightly").get().revoked_at is not None
        page.goto(f"{server}/organization/")
        page.screenshot(path=str(artifacts / "members-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / "members-390.png"), full_page=True)
        context.close()
