"""Languages (docs/i18n.md): the profile's language, then Accept-Language, then
LANGUAGE_CODE; the footer's switcher (a cookie signed out, the profile signed in);
allauth's own German; localized dates; the live client's texts; and the catalogue check
that CI runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from kernel.permissions import Role
from organizations.audit import AuditAction, audit
from tests.conftest import actor_for, client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang>"
    return match.group(1)


# --- how the language is chosen ----------------------------------------------------------


def test_a_visitor_gets_the_language_their_browser_asks_for(client: Client):
    german = client.get("/", headers=GERMAN)
    assert html_lang(german) == "de"
    assert german["Content-Language"] == "de"
    assert "Ein Arbeitsbereich für Ihr ganzes Team." in german.content.decode()
    assert "Anmelden" in german.content.decode()  # the header's "Sign in"

    english = Client().get("/", headers=ENGLISH)
    assert html_lang(english) == "en"
    assert "One workspace for your whole team." in english.content.decode()


def test_a_language_nobody_offers_falls_back_to_the_default(client: Client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ja-JP,ja;q=0.9")
    assert html_lang(response) == settings.LANGUAGE_CODE == "en"


def test_the_profiles_language_beats_accept_language(org):
    member = MembershipFactory(organization=org, role=Role.MEMBER, user__language="de")
    page = client_for(member).get("/organization/", headers=ENGLISH)
    assert html_lang(page) == "de"
    assert "Mitglieder von Acme" in page.content.decode()

    member.user.language = "en"
    member.user.save(update_fields=["language"])
    page = client_for(member).get("/organization/", headers=GERMAN)
    assert html_lang(page) == "en"
    assert "Members of Acme" in page.content.decode()


def test_without_a_profile_language_accept_language_decides(org):
    member = MembershipFactory(organization=org, role=Role.MEMBER, user__language="")
    page = client_for(member).get("/organization/", headers=GERMAN)
    assert html_lang(page) == "de"


def test_the_profile_page_offers_every_configured_language(org):
    member = MembershipFactory(organization=org, role=Role.MEMBER, user__language="de")
    page = client_for(member).get("/account/profile/").content.decode()
    select = page.split('name="language"', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="([^"]+)"', select)
    assert offered == [code for code, _name in settings.LANGUAGES]
    assert re.search(r'<option value="de"[^>]*selected', select)


# --- the footer's switcher -----------------------------------------------------------------


def test_the_footer_offers_each_language_by_its_own_name(client: Client):
    footer = client.get("/", headers=GERMAN).content.decode().split('class="site-footer"', 1)[1]
    assert 'action="/account/language/"' in footer
    assert re.search(r'value="en" lang="en"\s*>English</button>', footer)
    assert re.search(r'value="de" lang="de" aria-current="true">Deutsch</button>', footer)


def test_a_visitor_switches_with_a_cookie(client: Client):
    response = client.post(
        "/account/language/", {"language": "de", "next": "/terms/"}, headers=ENGLISH
    )
    assert response.status_code == 302
    assert response["Location"] == "/terms/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    # The cookie now beats the browser's English.
    assert html_lang(client.get("/terms/", headers=ENGLISH)) == "de"


def test_the_switcher_never_redirects_off_site(client: Client):
    response = client.post(
        "/account/language/", {"language": "de", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_a_signed_in_switch_is_saved_on_their_profile_only(org):
    member = MembershipFactory(organization=org, role=Role.VIEWER, user__language="en")
    other = MembershipFactory(organization=org, role=Role.OWNER, user__language="en")
    client = client_for(member)
    response = client.post("/account/language/", {"language": "de", "next": "/organization/"})
    assert response.status_code == 302
    assert User.objects.get(pk=member.user_id).language == "de"
    assert User.objects.get(pk=other.user_id).language == "en"
    # Another browser without the cookie: the profile still says German.
    assert html_lang(client_for(member).get("/organization/", headers=ENGLISH)) == "de"


def test_an_unknown_language_changes_nothing(org):
    member = MembershipFactory(organization=org, role=Role.MEMBER, user__language="en")
    response = client_for(member).post("/account/language/", {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert User.objects.get(pk=member.user_id).language == "en"


def test_the_switcher_takes_only_posts(client: Client):
    assert client.get("/account/language/?language=de").status_code == 405


# --- allauth's German, dates, the live client -------------------------------------------------


def test_allauths_sign_in_page_is_german(client: Client):
    page = client.get("/accounts/login/", headers=GERMAN).content.decode()
    assert re.search(r"<h1[^>]*>\s*Anmelden\s*</h1>", page)
    # From allauth's own catalogue (our templates do not say these): its form's labels.
    assert "Angemeldet bleiben" in page  # "Remember Me"
    assert "Passwort" in page
    assert "Remember Me" not in page


def test_dates_follow_the_language(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__language="de")
    event = audit(
        organization_id=org.pk, action=AuditAction.ORGANIZATION_RENAME, actor=actor_for(owner)
    )
    type(event).objects.unscoped().filter(pk=event.pk).update(
        created_at=datetime(2026, 12, 1, 18, 26, tzinfo=UTC)
    )
    client = client_for(owner)
    assert "01.12.2026 18:26" in client.get("/organization/audit/").content.decode()
    owner.user.language = "en"
    owner.user.save(update_fields=["language"])
    assert "1 Dec 2026 18:26" in client.get("/organization/audit/").content.decode()


def test_numbers_follow_the_language(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__language="de")
    for _ in range(2):
        MembershipFactory(organization=org, role=Role.MEMBER)
    page = client_for(owner).get("/organization/").content.decode()
    assert "3 Mitglieder" in page
    assert "Inhaber" in page  # the role's name, translated (its value stays "owner")
    assert 'data-role="owner"' in page or 'value="owner"' in page


def test_the_live_clients_texts_come_from_the_javascript_catalogue(client: Client):
    german = client.get("/i18n/js/", headers=GERMAN)
    assert german.status_code == 200
    assert german["Content-Type"].startswith("text/javascript")
    assert "Verbindung verloren. Verbindung wird wiederhergestellt" in german.content.decode()
    english = Client().get("/i18n/js/", headers=ENGLISH).content.decode()
    assert "Verbindung verloren" not in english
    # Every page loads it as a script of our own origin (the CSP allows no inline script).
    page = client.get("/", headers=GERMAN).content.decode()
    assert '<script src="/i18n/js/" defer></script>' in page


def test_a_signed_out_user_of_another_language_keeps_theirs_after_sign_in(client: Client):
    """The profile decides once signed in, whatever the cookie said before."""
    user = UserFactory(language="de")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    assert html_lang(client.get("/account/profile/")) == "de"


# --- the catalogue check (scripts/check-messages) ---------------------------------------------

COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".data",
    "staticfiles",
    "media",
    "private",
    "test-artifacts",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_the_catalogue_check_names_what_is_missing_or_fuzzy(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=COPY_IGNORE)
    # A new string nobody translated, in a template...
    (checkout / "templates" / "pages" / "new.html").write_text(
        '{% load i18n %}<p>{% translate "A sentence nobody has translated yet" %}</p>\n'
    )
    # ...and a translation marked fuzzy (msgmerge's guess, never checked).
    po = checkout / "locale" / "de" / "LC_MESSAGES" / "django.po"
    catalogue = po.read_text()
    assert '\nmsgid "Skip to content"\n' in catalogue
    po.write_text(
        catalogue.replace('\nmsgid "Skip to content"\n', '\n#, fuzzy\nmsgid "Skip to content"\n')
    )
    before = po.read_text()

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check-messages"), "--root", str(checkout)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    report = result.stderr
    assert (
        "templates/pages/new.html:1: 'A sentence nobody has translated yet': not translated"
        in report
    )
    assert re.search(r"templates/base\.html:\d+: 'Skip to content': fuzzy", report)
    # The .mo no longer matches its .po (the fuzzy entry is left out of a fresh compile).
    assert "django.mo: out of date" in report
    assert po.read_text() == before  # it worked on a copy
    assert not (checkout / "locale" / "de" / "LC_MESSAGES" / "django.po~").exists()
