"""The person's own notifications: the list, marking read (never someone else's), the
email preferences page, and the bell's count pushed over the socket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.test import Client

from kernel.models import Notification, NotificationPreference
from kernel.notifications import notify
from kernel.permissions import Role
from tests.accounts.helpers import login, make_verified_user
from tests.config.test_live_sessions import browser_socket
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def _notify(user, **kwargs) -> Notification:
    with transaction.atomic():
        notify("notes.shared", users=[user.pk], params={"name": "Carol"}, **kwargs)
    return Notification.objects.filter(user=user).latest("pk")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.com")


def test_the_list_shows_only_the_persons_own_newest_first_and_counts_unread(alice, bob):
    _notify(alice, link="/notes/1/")
    with transaction.atomic():
        notify("notes.exported", users=[alice.pk])
        notify("notes.shared", users=[bob.pk], params={"name": "Mallory"})
    page = _signed_in(alice).get("/account/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Your notes export is ready.") < html.index("Carol shared a note.")
    assert 'href="/notes/1/"' in html
    assert "Mallory" not in html
    assert "2 unread notifications." in html
    assert "Notifications: 2 unread" in html  # the bell's first value, before any socket


def test_signed_out_people_are_sent_to_sign_in(db):
    response = Client().get("/account/notifications/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert Client().post("/account/notifications/read-all/").status_code in (302, 401, 403)


def test_mark_one_read_with_a_plain_form(alice):
    first, second = _notify(alice), _notify(alice)
    response = _signed_in(alice).post(f"/account/notifications/{first.pk}/read/")
    assert response.status_code == 302
    assert response["Location"] == "/account/notifications/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None


def test_someone_elses_notification_is_not_found_and_stays_unread(alice, bob):
    theirs = _notify(bob)
    client = _signed_in(alice)
    response = client.post(f"/account/notifications/{theirs.pk}/read/", follow=True)
    assert b"There is no such notification." in response.content
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_through_the_door_says_not_found_for_anothers(alice, bob):
    from accounts.notifications import notification_mark_read
    from kernel.actor import Person
    from kernel.door import call
    from kernel.errors import AppError

    theirs = _notify(bob)
    with pytest.raises(AppError) as refused:
        call(notification_mark_read, Person(alice.pk), {"notification_id": theirs.pk})
    assert refused.value.code == "not_found"
    with pytest.raises(AppError) as missing:
        call(notification_mark_read, Person(alice.pk), {"notification_id": theirs.pk + 999})
    assert missing.value.code == "not_found"
    assert refused.value.message == missing.value.message  # ids reveal nothing
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_the_persons_own(alice, bob):
    _notify(alice)
    _notify(alice)
    theirs = _notify(bob)
    response = _signed_in(alice).post("/account/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(user=alice, read_at=None).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_preferences_page_saves_each_category_and_keeps_security_on(alice):
    client = _signed_in(alice)
    page = client.get("/account/notifications/preferences/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="security" value="off"' not in html  # no way to turn it off
    assert 'name="billing" value="off"' in html
    saved = client.post(
        "/account/notifications/preferences/",
        {"security": "daily", "organization": "off", "billing": "daily", "data": "immediately"},
    )
    assert saved.status_code == 302
    chosen = dict(
        NotificationPreference.objects.filter(user=alice).values_list("category", "delivery")
    )
    assert chosen == {
        "security": "daily",
        "organization": "off",
        "billing": "daily",
        "data": "immediately",
    }
    refused = client.post("/account/notifications/preferences/", {"security": "off"})
    assert refused.status_code == 422
    assert b"Security notices cannot be turned off." in refused.content
    assert NotificationPreference.objects.get(user=alice, category="security").delivery == "daily"


# --- the bell over the socket ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_the_unread_count_is_pushed_when_the_persons_own_notifications_change():
    def setup() -> tuple[Client, int, int]:
        org = OrganizationFactory()
        reader = make_verified_user("reader@example.com")
        other = make_verified_user("other@example.com")
        MembershipFactory(organization=org, user=reader, role=Role.VIEWER)
        MembershipFactory(organization=org, user=other, role=Role.OWNER)
        client = Client()
        login(client, reader.email)
        return client, reader.pk, other.pk

    client, reader_id, other_id = await database_sync_to_async(setup)()
    socket = await browser_socket(client)
    await socket.send_json_to({"type": "subscribe", "id": "bell", "query": "notifications.unread"})
    first = await socket.receive_json_from(timeout=5)
    assert first["value"] == {"count": 0}

    def tell(user_id: int) -> None:
        with transaction.atomic():
            notify("notes.shared", users=[user_id], params={"name": "Carol"})

    await database_sync_to_async(tell)(other_id)  # someone else's: nothing to push
    await database_sync_to_async(tell)(reader_id)
    pushed = await socket.receive_json_from(timeout=10)
    assert pushed["value"] == {"count": 1}

    await database_sync_to_async(client.post)("/account/notifications/read-all/")
    pushed = await socket.receive_json_from(timeout=10)
    assert pushed["value"] == {"count": 0}
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_a_person_in_no_organization_still_has_a_live_bell():
    def setup() -> Client:
        make_verified_user("loner@example.com")
        client = Client()
        login(client, "loner@example.com")
        return client

    client = await database_sync_to_async(setup)()
    socket = await browser_socket(client)
    await socket.send_json_to({"type": "subscribe", "id": "bell", "query": "notifications.unread"})
    first = await socket.receive_json_from(timeout=5)
    assert first == {"type": "result", "id": "bell", "value": {"count": 0}}
    await socket.disconnect()
