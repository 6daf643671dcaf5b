"""Notification email: by preference, through the task queue, once; digests batch; the
signed one-click unsubscribe link works without signing in, for its own person only."""

from __future__ import annotations

import pytest
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.test import Client
from django.utils import translation

from kernel.models import Notification, NotificationPreference
from kernel.notification_mail import (
    UNSUBSCRIBE_SALT,
    read_unsubscribe_token,
    send_digests,
    send_notification_emails,
    unsubscribe_token,
)
from kernel.notifications import notify
from tests.factories import UserFactory
from tests.tasks import run_tasks, sent_mail


def _html(message) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    return str({mime: body for body, mime in message.alternatives}["text/html"])


pytestmark = pytest.mark.django_db


def _notify(kind: str, *users, **kwargs) -> int:
    with transaction.atomic():
        return notify(kind, users=[u.pk for u in users], **kwargs)


def _prefer(user, category: str, delivery: str) -> None:
    NotificationPreference.objects.update_or_create(
        user=user, category=category, defaults={"delivery": delivery}
    )


def _digest_now() -> None:
    with transaction.atomic():
        send_digests.enqueue()
    run_tasks()


def test_immediate_sends_one_email_each_in_text_and_html_with_the_link():
    alice = UserFactory(email="alice@example.com")
    _notify("notes.shared", alice, params={"name": "Carol"}, link="/notes/7/")
    _notify("notes.shared", alice, params={"name": "Dave"})
    emails = sent_mail()
    assert [m.to for m in emails] == [["alice@example.com"]] * 2
    first = emails[0]
    assert "Carol shared a note." in first.subject
    assert "Carol shared a note." in first.body
    assert "http://localhost:8000/notes/7/" in first.body  # SITE_URL + the link
    html = _html(first)
    assert "Carol shared a note." in html
    assert 'href="http://localhost:8000/notes/7/"' in html
    assert set(Notification.objects.values_list("email", flat=True)) == {"sent"}


def test_an_email_task_that_runs_twice_sends_once():
    alice = UserFactory()
    _notify("notes.shared", alice, params={"name": "Carol"})
    run_tasks()
    sent = len(mail.outbox)
    assert sent == 1
    with transaction.atomic():  # a retry, or a worker that died after committing
        send_notification_emails.enqueue(list(Notification.objects.values_list("pk", flat=True)))
    run_tasks()
    assert len(mail.outbox) == 1


def test_off_sends_nothing_now_or_in_the_digest():
    alice = UserFactory()
    _prefer(alice, "organization", "off")
    _notify("notes.shared", alice)
    _digest_now()
    assert sent_mail() == []
    assert Notification.objects.get().email == "skipped"
    assert Notification.objects.count() == 1  # still under the bell


def test_daily_batches_several_into_one_digest_sent_once():
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    _prefer(alice, "organization", "daily")
    _prefer(alice, "data", "daily")
    _notify("notes.shared", alice, bob, params={"name": "Carol"})
    _notify("notes.exported", alice, link="/exports/3/")
    _notify("notes.shared", alice, params={"name": "Erin"})
    emails = sent_mail()
    assert [m.to for m in emails] == [["bob@example.com"]]  # bob: immediately
    mail.outbox.clear()
    _digest_now()
    _digest_now()  # the periodic task twice: nothing is sent again
    (digest,) = mail.outbox
    assert digest.to == ["alice@example.com"]
    assert "3 notifications" in digest.subject
    for text in ("Carol shared a note.", "Your notes export is ready.", "Erin shared a note."):
        assert text in digest.body
        assert text in _html(digest)
    assert not Notification.objects.filter(user=alice).exclude(email="sent").exists()


def test_a_category_turned_off_before_the_digest_is_left_out():
    alice = UserFactory()
    _prefer(alice, "organization", "daily")
    _prefer(alice, "data", "daily")
    _notify("notes.shared", alice, params={"name": "Carol"})
    _notify("notes.exported", alice)
    _prefer(alice, "organization", "off")
    _digest_now()
    (digest,) = mail.outbox
    assert "Your notes export is ready." in digest.body
    assert "Carol" not in digest.body


def test_security_notices_are_mailed_even_when_set_off_and_carry_no_unsubscribe():
    alice = UserFactory()
    _prefer(alice, "security", "off")  # cannot be saved through the page; ignored anyway
    _notify("notes.watched", alice)
    (email,) = sent_mail()
    assert "List-Unsubscribe" not in email.extra_headers
    assert "Security notices are always sent." in email.body


def test_emails_carry_rfc_8058_one_click_unsubscribe_headers():
    alice = UserFactory()
    _notify("notes.billed", alice, params={"organization": "Acme"})
    (email,) = sent_mail()
    header = email.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http://localhost:8000/account/notifications/unsubscribe/")
    assert header.endswith("/>")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header[1:-1] in email.body
    assert read_unsubscribe_token(header[1:-1].rstrip("/").rsplit("/", 1)[1]) == (
        alice.pk,
        ["billing"],
    )


def test_the_email_is_worded_in_the_readers_language():
    german = UserFactory(language="de")
    _notify("notes.shared", german, params={"name": "Carol"})
    (email,) = sent_mail()
    with translation.override("de"):
        expected = translation.gettext("Choose which emails you get")
    assert expected in _html(email)
    assert 'lang="de"' in _html(email)


# --- unsubscribe ----------------------------------------------------------------------


def _path(token: str) -> str:
    return f"/account/notifications/unsubscribe/{token}/"


def test_unsubscribe_asks_on_get_and_turns_off_on_post_without_signing_in():
    alice = UserFactory()
    token = unsubscribe_token(alice.pk, ["billing"])
    anonymous = Client()
    page = anonymous.get(_path(token))
    assert page.status_code == 200
    assert b"Billing" in page.content
    assert not NotificationPreference.objects.exists()  # a link scanner changes nothing
    done = anonymous.post(_path(token))
    assert done.status_code == 200
    assert b"no longer receive" in done.content
    assert NotificationPreference.objects.get(user=alice, category="billing").delivery == "off"


def test_one_click_post_from_a_mail_client_needs_no_csrf_token():
    alice = UserFactory()
    token = unsubscribe_token(alice.pk, ["data"])
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(_path(token), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert NotificationPreference.objects.get(user=alice, category="data").delivery == "off"


def test_a_token_changes_only_its_own_person():
    alice, bob = UserFactory(), UserFactory()
    Client().post(_path(unsubscribe_token(alice.pk, ["organization"])))
    assert NotificationPreference.objects.filter(user=alice, delivery="off").count() == 1
    assert not NotificationPreference.objects.filter(user=bob).exists()
    # Bob signed in, with Alice's link: still Alice's preference, never Bob's.
    signed_in = Client()
    signed_in.force_login(bob)
    signed_in.post(_path(unsubscribe_token(alice.pk, ["data"])))
    assert not NotificationPreference.objects.filter(user=bob).exists()
    assert NotificationPreference.objects.filter(user=alice, delivery="off").count() == 2


def test_a_tampered_or_foreign_token_is_refused():
    alice, bob = UserFactory(), UserFactory()
    token = unsubscribe_token(alice.pk, ["billing"])
    forged_payload = signing.dumps({"u": bob.pk, "c": ["billing"]}, salt="another.salt")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, forged_payload, "nonsense"):
        assert Client().get(_path(bad)).status_code == 404
        assert Client().post(_path(bad)).status_code == 404
    assert not NotificationPreference.objects.exists()


def test_security_cannot_be_unsubscribed_even_with_a_signed_token():
    alice = UserFactory()
    assert read_unsubscribe_token(unsubscribe_token(alice.pk, ["security"])) is None
    hand_made = signing.dumps({"u": alice.pk, "c": ["security"]}, salt=UNSUBSCRIBE_SALT)
    assert Client().post(_path(hand_made)).status_code == 404
    assert not NotificationPreference.objects.exists()
