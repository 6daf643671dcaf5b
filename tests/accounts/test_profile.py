"""The profile: display name, avatar, time zone and language, on the page and the API;
names shown where people are listed; dates in the viewer's time zone."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from kernel.permissions import Role
from organizations.audit import AuditAction, audit
from tests.accounts.images import jpeg, png
from tests.conftest import JSON, bearer, client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PNG = png(size=4)
JPEG = jpeg()
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.AVATAR_MAX_BYTES = 4096
    return tmp_path


@pytest.fixture
def person(org) -> User:
    return MembershipFactory(organization=org, role=Role.MEMBER, user__display_name="").user


@pytest.fixture
def browser(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def upload(content: bytes, name: str = "me.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def form(**fields):
    return {"display_name": "", "time_zone": "UTC", "language": "en", **fields}


# --- the page -----------------------------------------------------------------------------


def test_the_profile_page_needs_a_signed_in_person():
    response = Client().get("/account/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_profile_page_shows_the_form_with_initials(browser, person):
    page = browser.get("/account/profile/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="display_name"' in html
    assert '<option value="Europe/Paris"' in html  # the time-zone select
    assert '<option value="UTC" selected>' in html  # no choice yet: the site's zone
    assert f">{person.initials}</span>" in html
    assert 'enctype="multipart/form-data"' in html


def test_the_time_zones_are_grouped_and_a_legacy_choice_is_kept(browser, person):
    html = browser.get("/account/profile/").content.decode()
    assert '<optgroup label="Europe"><option value="Europe/Amsterdam" >Amsterdam</option>' in html
    assert 'value="US/Eastern"' not in html  # an alias: accepted, not offered
    person.time_zone = "US/Eastern"
    person.save()
    html = browser.get("/account/profile/").content.decode()
    assert '<option value="US/Eastern" selected>' in html  # saving again keeps it


def test_saving_the_profile(browser, person):
    response = browser.post(
        "/account/profile/",
        form(display_name="  Ada   Lovelace ", time_zone="Europe/Paris", language="en"),
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.display_name, person.time_zone, person.language) == (
        "Ada Lovelace",
        "Europe/Paris",
        "en",
    )
    assert (person.name, person.initials) == ("Ada Lovelace", "AL")
    page = browser.get(response["Location"])
    assert b"Profile saved." in page.content
    assert b'value="Ada Lovelace"' in page.content


def test_an_empty_display_name_shows_the_email(browser, person):
    person.display_name = "Ada"
    person.save()
    assert browser.post("/account/profile/", form(display_name="   ")).status_code == 302
    person.refresh_from_db()
    assert person.display_name == ""
    assert person.name == person.email


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Choose a time zone from the list."),
        ({"time_zone": "europe/paris"}, "time_zone", "Choose a time zone from the list."),
        ({"language": "tlh"}, "language", "Choose one of: English, Deutsch."),
        ({"display_name": "x" * 81}, "display_name", "Use at most 80 characters."),
        ({"display_name": "\u200b\u200b"}, "display_name", "Use visible characters."),
    ],
)
def test_invalid_input_is_refused_inline_and_nothing_is_written(
    browser, person, fields, field, message
):
    before = (person.display_name, person.time_zone, person.language)
    response = browser.post(
        "/account/profile/",
        form(**{"display_name": "New name", "time_zone": "Asia/Tokyo", **fields}),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_{field}-error"' in html
    assert message in html
    person.refresh_from_db()
    assert (person.display_name, person.time_zone, person.language) == before


def test_what_was_typed_stays_on_the_form_after_a_refusal(browser):
    response = browser.post(
        "/account/profile/", form(display_name="Grace Hopper", time_zone="Nowhere/City")
    )
    assert b'value="Grace Hopper"' in response.content


# --- avatars ------------------------------------------------------------------------------


def test_uploading_an_avatar(browser, person, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/account/profile/", {**form(display_name="Ada"), "avatar": upload(PNG)}
        )
    assert response.status_code == 302
    person.refresh_from_db()
    name = person.avatar.name
    assert name.startswith("avatars/")
    assert name.endswith(".png")
    assert str(person.pk) not in name  # the address says nothing of whose it is
    assert "ada" not in name.lower()
    assert default_storage.open(name).read() == PNG
    page = browser.get("/account/profile/").content.decode()
    assert f'src="{person.avatar.url}"' in page
    assert 'name="remove_avatar"' in page


def test_the_file_is_judged_by_its_bytes_not_its_name(browser, person, media):
    response = browser.post(
        "/account/profile/",
        {**form(display_name="Changed"), "avatar": upload(SVG, "cat.png", "image/png")},
    )
    assert response.status_code == 422
    assert b"Use a PNG, JPEG or WebP image." in response.content
    assert b'id="id_avatar-error"' in response.content
    person.refresh_from_db()
    assert (person.avatar.name, person.display_name) == ("", "")  # nothing written
    assert not any(media.rglob("*.*"))


def test_an_avatar_over_the_limit_is_refused(browser, person, media):
    too_big = png(size=4, text=b"Comment\x00" + b"x" * 5000)
    response = browser.post("/account/profile/", {**form(), "avatar": upload(too_big)})
    assert response.status_code == 422
    assert b"Use an image of at most 4 KB." in response.content
    person.refresh_from_db()
    assert person.avatar.name == ""


def test_replacing_and_removing_the_avatar_deletes_the_old_file(
    browser, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/account/profile/", {**form(), "avatar": upload(PNG)})
    person.refresh_from_db()
    first = person.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/account/profile/", {**form(), "avatar": upload(JPEG, "me.jpg")})
    person.refresh_from_db()
    second = person.avatar.name
    assert second.endswith(".jpg")
    assert second != first
    assert not default_storage.exists(first)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/account/profile/", {**form(), "remove_avatar": "true"})
    person.refresh_from_db()
    assert person.avatar.name == ""
    assert not default_storage.exists(second)
    assert f">{person.initials}</span>" in browser.get("/account/profile/").content.decode()


def test_the_photos_metadata_is_removed(browser, person, django_capture_on_commit_callbacks):
    """EXIF can hold where a photo was taken; every teammate sees the avatar."""
    located = jpeg(exif=b"GPS 48.8584 N 2.2945 E")
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/account/profile/", {**form(), "avatar": upload(located, "me.jpg")})
    person.refresh_from_db()
    stored = default_storage.open(person.avatar.name).read()
    assert stored == jpeg()  # the same image, without its EXIF segment
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/account/profile/", {**form(), "avatar": upload(png(4, text=b"Author\x00Ada"))}
        )
    person.refresh_from_db()
    assert default_storage.open(person.avatar.name).read() == png(4)


def test_a_damaged_image_is_refused(browser, person):
    cut = png(4)[:30]  # a PNG signature, then nothing that ends
    response = browser.post("/account/profile/", {**form(), "avatar": upload(cut)})
    assert response.status_code == 422
    assert b"This PNG image is damaged." in response.content


# --- only one's own -----------------------------------------------------------------------


def test_nobody_edits_another_persons_profile(browser, person, other_org):
    other = MembershipFactory(organization=other_org, user__display_name="Other").user
    response = browser.post(
        "/account/profile/", {**form(display_name="Hijack"), "user_id": other.pk}
    )
    assert response.status_code == 422  # there is no such field: only one's own profile
    other.refresh_from_db()
    person.refresh_from_db()
    assert other.display_name == "Other"
    assert person.display_name == ""


def test_avatar_addresses_do_not_cross_users_or_organizations(
    browser, person, org, other_org, django_capture_on_commit_callbacks
):
    stranger = MembershipFactory(organization=other_org).user
    stranger_client = Client()
    stranger_client.force_login(stranger)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/account/profile/", {**form(), "avatar": upload(PNG)})
    person.refresh_from_db()
    url = person.avatar.url
    # The stranger sees only their own profile, and not the other organization's members.
    assert url.encode() not in stranger_client.get("/account/profile/").content
    assert url.encode() not in stranger_client.get("/organization/").content
    # A teammate in the same organization sees it next to the name.
    teammate = MembershipFactory(organization=org, role=Role.MEMBER)
    assert url.encode() in client_for(teammate).get("/organization/").content


# --- the API ------------------------------------------------------------------------------


def test_the_api_reads_and_patches_the_profile(browser, person):
    response = browser.patch(
        "/api/v1/account/profile",
        json.dumps({"display_name": "Ada", "avatar": base64.b64encode(PNG).decode()}),
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Ada"
    assert body["initials"] == "A"
    assert body["avatar_url"].startswith("/media/avatars/")
    assert body["time_zone"] == ""  # left out: unchanged
    refused = browser.patch(
        "/api/v1/account/profile", json.dumps({"time_zone": "Nowhere"}), content_type=JSON
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"]["time_zone"] == ["Choose a time zone from the list."]
    assert browser.get("/api/v1/account/profile").json()["display_name"] == "Ada"


def test_api_keys_cannot_touch_a_persons_profile(api, make_key):
    raw = make_key(Role.OWNER)
    response = api.patch(
        "/api/v1/account/profile",
        json.dumps({"display_name": "Key"}),
        content_type=JSON,
        **bearer(raw),
    )
    assert response.status_code == 403


# --- names and time zones where people are shown -------------------------------------------


def test_members_and_the_audit_log_show_names(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__display_name="Olive Owner")
    unnamed = MembershipFactory(organization=org, role=Role.MEMBER, user__display_name="")
    client = client_for(owner)
    members = client.get("/organization/").content.decode()
    assert "Olive Owner" in members
    assert owner.user.email in members  # under the name
    assert unnamed.user.email in members
    audit(
        organization_id=org.pk,
        action=AuditAction.ORGANIZATION_RENAME,
        actor=_actor(owner),
        target="Acme",
    )
    log = client.get("/organization/audit/").content.decode()
    assert "Olive Owner" in log


def test_dates_render_in_the_viewers_time_zone(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    event = audit(
        organization_id=org.pk, action=AuditAction.ORGANIZATION_RENAME, actor=_actor(owner)
    )
    type(event).objects.unscoped().filter(pk=event.pk).update(
        created_at=datetime(2026, 12, 1, 18, 26, tzinfo=UTC)
    )
    client = client_for(owner)
    assert "1 Dec 2026 18:26" in client.get("/organization/audit/").content.decode()
    owner.user.time_zone = "Asia/Tokyo"
    owner.user.save()
    assert "2 Dec 2026 03:26" in client.get("/organization/audit/").content.decode()


def test_initials():
    assert UserFactory.build(display_name="grace brewster hopper").initials == "GH"
    assert UserFactory.build(display_name="Ada", email="x@example.com").initials == "A"
    assert UserFactory.build(display_name="", email="jane.doe@example.com").initials == "J"
    assert UserFactory.build(display_name="", email="_1@example.com").initials == "1"


def _actor(membership):
    from tests.conftest import actor_for

    return actor_for(membership)
