"""The restore page in a real browser, at a desktop and a phone width: an owner of an
organization scheduled for deletion sees its date and restores it; a member sees the
refusal. Screenshots go to test-artifacts/screenshots/ (docs/pages.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from kernel.permissions import Role
from organizations import deletion
from organizations.models import Organization
from tests.browser import browser_user, sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, folder, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def test_an_owner_restores_from_the_page_a_member_is_refused(browser, artifacts):
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    org = OrganizationFactory(name="Northwind Traders")
    owner = browser_user("owner@example.com")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    MembershipFactory(organization=OrganizationFactory(name="Contoso Research"), user=owner)
    member = browser_user("member@example.com")
    MembershipFactory(organization=org, user=member, role=Role.MEMBER)

    with app_server() as server:
        for width in (1280, 390):
            with transaction.atomic():
                deletion.schedule(
                    Organization.objects.get(pk=org.pk),
                    by="Deleted by owner@example.com",
                    due_at=timezone.now() + timedelta(days=30),
                )
            due = Organization.objects.get(pk=org.pk).deletion_due_at
            context, page = sign_in(browser, server, member.email, "/organization/", width=width)
            assert page.locator("[data-error=pending_deletion]").count() == 1
            assert page.locator("[data-restore-page]").count() == 0
            shoot(page, folder, "pending-deletion-member", width)
            context.close()

            context, page = sign_in(browser, server, owner.email, width=width)
            page.goto(f"{server}/organization/{org.pk}/restore/")
            assert page.locator("[data-restore-page]").count() == 1
            assert f"{due:%-d %B %Y}" in page.locator("main").inner_text()
            shoot(page, folder, "pending-deletion-owner", width)
            page.click("main button:text-is('Restore Northwind Traders')")
            page.wait_for_url(lambda url: "/restore/" not in url)
            assert "is restored" in page.locator("main").inner_text()
            shoot(page, folder, "restored", width)
            context.close()
            assert Organization.objects.get(pk=org.pk).status == Organization.Status.ACTIVE
