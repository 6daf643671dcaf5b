"""The demo's pages in German: a form's field error and a flash message (the kernel's
translations on a page; tests/kernel/test_languages.py has the API and the socket)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from kernel.permissions import Role
from tests.conftest import client_for

GERMAN: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogue(django_db_blocker: Any) -> None:
    """The .mo the tests read: compiled from the committed .po, as a deployment does."""
    with django_db_blocker.unblock():
        call_command("compilemessages", locale=["de"], verbosity=0)


def test_a_field_error_is_shown_on_the_page_in_german(member):
    client = client_for(member(Role.OWNER))
    page = client.post("/records/", {"title": "   "}, **GERMAN)
    assert page.status_code == 422
    assert "Dieses Feld ist erforderlich." in page.content.decode()
    english = client.post("/records/", {"title": "   "})
    assert "This field is required." in english.content.decode()


def test_a_flash_message_is_in_german(member):
    client = client_for(member(Role.OWNER))
    page = client.post("/records/", {"title": "Hallo"}, follow=True, **GERMAN)
    assert "Eintrag erstellt." in page.content.decode()
