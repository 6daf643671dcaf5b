"""Exports in a browser, against a real server and its task worker: an owner exports the
organization from the settings page and downloads the ZIP; a person exports their
account from the account page. Screenshots at 1280 and 390 px under test-artifacts/
(and /work/i16/shots/ when that folder exists, for review)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from kernel.permissions import Role
from tests.browser import browser_user, sign_in
from tests.factories import MembershipFactory, OrganizationFactory
from tests.servers import app_server_process
from workspace_records.models import WorkspaceRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REVIEW = Path("/work/i16/shots")


def shoot(page, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if REVIEW.is_dir():
        shutil.copy(path, REVIEW / f"exports-{name}.png")


def wait_until_ready(page) -> None:
    for _ in range(60):
        if page.locator("a:text-is('Download')").count():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError("the export never became ready")


def test_an_owner_exports_the_organization_and_downloads_it(browser, artifacts, tmp_path):
    owner = browser_user("ada@example.com")
    org = OrganizationFactory(name="Analytical Engines")
    MembershipFactory(organization=org, user=owner, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.ADMIN, user__display_name="Charles Babbage")
    WorkspaceRecord.objects.create(organization=org, title="Difference engine")

    with app_server_process(EXPORTS_ROOT=str(tmp_path / "exports")) as (base, _process):
        context, page = sign_in(browser, base, owner.email, "/organization/settings/")
        assert page.locator("h2:text-is('Export data')").count() == 1
        page.click("button:text-is('Export data')")
        page.wait_for_selector("text=Your export is being prepared")
        wait_until_ready(page)
        with page.expect_download() as download:
            page.click("a:text-is('Download')")
        saved = tmp_path / "downloaded.zip"
        download.value.save_as(saved)
        names = zipfile.ZipFile(saved).namelist()
        assert {"manifest.json", "members.csv", "workspace_records.json"} <= set(names)
        page.goto(f"{base}/organization/settings/")
        shoot(page, artifacts, "settings-1280")
        context.close()

        context, page = sign_in(browser, base, owner.email, "/organization/settings/", width=390)
        shoot(page, artifacts, "settings-390")
        context.close()


def test_a_person_exports_their_account(browser, artifacts, tmp_path):
    person = browser_user("grace@example.com")
    MembershipFactory(organization=OrganizationFactory(name="Harvard Mark I"), user=person)

    with app_server_process(EXPORTS_ROOT=str(tmp_path / "exports")) as (base, _process):
        context, page = sign_in(browser, base, person.email, "/account/")
        page.click("a:text-is('Export a copy')")
        page.click("button:text-is('Export my data')")
        page.wait_for_selector("text=Your export is being prepared")
        shoot(page, artifacts, "account-pending-1280")
        wait_until_ready(page)
        shoot(page, artifacts, "account-1280")
        context.close()

        context, page = sign_in(browser, base, person.email, "/exports/account/", width=390)
        shoot(page, artifacts, "account-390")
        context.close()
