"""Notification emails: one now, or many in a daily digest, by each person's preference.

`notify()` enqueues `send_notification_emails` in the transaction that creates the
notifications; the daily `send_digests` (a `Periodic` in the accounts manifest) batches
what people who chose the digest have not been mailed yet. Each email is worded in its
reader's language, in the product's text+HTML layout (templates/emails/), and carries a
signed one-click unsubscribe link for its categories (RFC 8058 headers), except security
notices, which cannot be turned off.

A notification's `email` state moves pending/digest → sent (or skipped) in the
transaction that enqueues its email (kernel.tasks.send_email), under a row lock: a task
that runs twice sends nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kernel.models import Notification, NotificationPreference
from kernel.notifications import (
    Category,
    Delivery,
    can_turn_off,
    category_of,
    delivery_for,
    notification_text,
)
from kernel.tasks import durable, send_email

UNSUBSCRIBE_SALT: Final = "kernel.notifications.unsubscribe"


# --- unsubscribe tokens ---------------------------------------------------------------


def unsubscribe_token(user_id: int, categories: Sequence[str]) -> str:
    """A signed, non-expiring token naming one person and the categories it turns off
    (an old email's link still works). Security is never among them."""
    wanted = sorted({c for c in categories if can_turn_off(c)})
    return signing.dumps({"u": user_id, "c": wanted}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, list[str]] | None:
    """(user id, categories) from a genuine token, else None (tampered, or not ours)."""
    try:
        payload: Any = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    try:
        user_id, categories = int(payload["u"]), [str(c) for c in payload["c"]]
    except (KeyError, TypeError, ValueError):
        return None
    valid = [c for c in categories if c in Category and can_turn_off(c)]
    return (user_id, valid) if valid else None


def unsubscribe(token: str) -> tuple[int, list[str]] | None:
    """Turn email off for the token's own person and categories; None for a bad token.
    The token is the authority: no session is needed, and it names one person only."""
    found = read_unsubscribe_token(token)
    if found is None:
        return None
    user_id, categories = found
    if not get_user_model().objects.filter(pk=user_id).exists():
        return None
    with transaction.atomic():
        for category in categories:
            NotificationPreference.objects.update_or_create(
                user_id=user_id, category=category, defaults={"delivery": Delivery.OFF}
            )
        # What the daily digest still held for these categories is not sent either.
        waiting = Notification.objects.filter(user_id=user_id, email=Notification.Email.DIGEST)
        skipped = [n.pk for n in waiting if category_of(n) in categories]
        Notification.objects.filter(pk__in=skipped).update(email=Notification.Email.SKIPPED)
    return user_id, categories


def unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("notification_unsubscribe", kwargs={"token": token})


# --- tasks ----------------------------------------------------------------------------


@durable(max_attempts=8)
def send_notification_emails(notification_ids: list[int]) -> None:
    """Email each notification still waiting to be sent now, one email each."""
    with transaction.atomic():
        rows = list(
            Notification.objects.filter(pk__in=notification_ids, email=Notification.Email.PENDING)
            .select_related("user")
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        for notification in rows:
            if _mailable(notification.user):
                send_email(_single(notification))
        _mark_sent(rows)


@durable(max_attempts=8)
def send_digests() -> None:
    """Once a day: one email per person with everything their daily digest holds."""
    waiting = (
        Notification.objects.filter(email=Notification.Email.DIGEST)
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in list(waiting):
        send_digest(user_id)


def send_digest(user_id: int) -> int:
    """The person's digest, in its own transaction; how many notifications it held.
    A category turned off since is skipped, one switched to immediate still goes here."""
    with transaction.atomic():
        rows = list(
            Notification.objects.filter(user_id=user_id, email=Notification.Email.DIGEST)
            .select_related("user")
            .select_for_update(of=("self",))
            .order_by("created_at", "pk")
        )
        if not rows:
            return 0
        categories = {category_of(n) for n in rows}
        off = {c for c in categories if delivery_for([user_id], c)[user_id] == Delivery.OFF}
        included = [n for n in rows if category_of(n) not in off]
        skipped = [n for n in rows if category_of(n) in off]
        if included and _mailable(rows[0].user):
            send_email(_digest(rows[0].user, included))
        _mark_sent(included)
        Notification.objects.filter(pk__in=[n.pk for n in skipped]).update(
            email=Notification.Email.SKIPPED
        )
        return len(included)


def _mailable(user: Any) -> bool:
    return bool(user.is_active and user.email)


def _mark_sent(rows: Sequence[Notification]) -> None:
    Notification.objects.filter(pk__in=[n.pk for n in rows]).update(
        email=Notification.Email.SENT, emailed_at=timezone.now()
    )


# --- composing ------------------------------------------------------------------------


def _absolute(link: str) -> str:
    return settings.SITE_URL + link if link.startswith("/") else link


def _single(notification: Notification) -> EmailMultiAlternatives:
    user = notification.user
    category = category_of(notification)
    with translation.override(user.language or settings.LANGUAGE_CODE):
        text = notification_text(notification)
        items = [{"text": text, "url": _absolute(notification.link)}]
        return _message(
            user, subject=text, intro="", items=items, categories=[category], digest=False
        )


def _digest(user: Any, rows: Sequence[Notification]) -> EmailMultiAlternatives:
    with translation.override(user.language or settings.LANGUAGE_CODE):
        items = [{"text": notification_text(n), "url": _absolute(n.link)} for n in rows]
        count = len(rows)
        subject = ngettext(
            "Your daily summary: %(count)d notification",
            "Your daily summary: %(count)d notifications",
            count,
        ) % {"count": count}
        intro = _("Here is what happened since your last summary.")
        categories = sorted({category_of(n) for n in rows})
        return _message(
            user, subject=subject, intro=intro, items=items, categories=categories, digest=True
        )


def _message(
    user: Any,
    *,
    subject: str,
    intro: str,
    items: list[dict[str, str]],
    categories: Sequence[str],
    digest: bool,
) -> EmailMultiAlternatives:
    """Both parts from the same context; the unsubscribe link and headers when any of
    the categories can be turned off."""
    optional = [c for c in categories if can_turn_off(c)]
    token = unsubscribe_token(user.pk, optional) if optional else ""
    context = {
        "subject": subject,
        "intro": intro,
        "items": items,
        "digest": digest,
        "site_name": settings.SITE_NAME,
        "categories": ", ".join(Category(c).label for c in categories),
        "preferences_url": settings.SITE_URL + reverse("notification_preferences"),
        "unsubscribe_url": unsubscribe_url(token) if token else "",
    }
    body = render_to_string("emails/notification.txt", context).strip()
    html = render_to_string("emails/notification.html", context)
    headers = {}
    if token:
        headers = {
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    message = EmailMultiAlternatives(
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
