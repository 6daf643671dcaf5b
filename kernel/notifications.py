"""Notifications: domain events tell people what happened, through one function.

    notify("member.role_changed", users=[member.user_id], organization_id=org.pk,
           params={"organization": org.name, "role": new_role}, link="/organization/")
    notify_members("billing.payment_failed", organization_id=org.pk,
                   permission="billing.manage", link="/billing/", key=event_id)

Both run inside the transaction of the change (a mutation's body, a task): commit ⇔
notified, and the email task they enqueue commits with it. A `key` makes a repeat (a
re-delivered webhook, a retried task) notify nobody twice.

Kinds are declared in a domain manifest, so the kernel names no domain:

    Domain(..., notifications=[NotificationKind(
        "member.removed", category="organization",
        text=gettext_lazy("You were removed from {organization}."))])

A notification stores its kind and parameters, never its sentence: `notification_text`
words it when shown or mailed, in the language active then (the reader's). Email goes
out by each person's preference for the kind's category (kernel/notification_mail.py);
callers do nothing for email.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from django.db import connection
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kernel.models import Notification, NotificationPreference
from kernel.permissions import get_permission
from kernel.registry import Registry
from kernel.sources import SOURCES


class Category(StrEnum):
    """What a notification is about; each person chooses how each is emailed."""

    SECURITY = "security"
    """Cannot be turned off: someone signed in as you, an operator viewed your account."""
    ORGANIZATION = "organization"
    BILLING = "billing"
    DATA = "data"
    """Exports and imports."""

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


CATEGORY_LABELS: Final[Mapping[Category, Promise]] = {
    Category.SECURITY: _("Security"),
    Category.ORGANIZATION: _("Organizations and members"),
    Category.BILLING: _("Billing"),
    Category.DATA: _("Data exports"),
}

Delivery = NotificationPreference.Delivery


@dataclass(frozen=True)
class NotificationKind:
    """One kind of notification, declared in the manifest of the domain that sends it.
    `text` is a lazy translation with `{named}` placeholders filled from the params."""

    name: str
    category: str
    text: str | Promise

    def __post_init__(self) -> None:
        if self.category not in Category:
            choices = ", ".join(Category)
            raise ValueError(f"Notification kind {self.name!r}: category must be one of {choices}.")


KINDS: Final = Registry[NotificationKind]("notification kind")
"""Filled from the manifests at start-up (kernel/manifest.py), then frozen."""


class UnknownNotificationKindError(LookupError):
    """A kind no manifest declares: a bug, never a silent notification."""


def kind_of(name: str) -> NotificationKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownNotificationKindError(
            f"Unknown notification kind {name!r}: declare it in its app's domain.py."
        ) from None


def notify(
    kind: str,
    *,
    users: Iterable[int],
    organization_id: int | None = None,
    params: Mapping[str, str] | None = None,
    link: str = "",
    key: str = "",
) -> int:
    """Notify each of `users` (ids) of `kind`; how many notifications were created (a
    repeat of a `key` the person already has creates none). Must run inside the
    transaction of the change. Those who want it now are emailed by a task."""
    entry = kind_of(kind)
    if not connection.in_atomic_block:
        raise RuntimeError("notify() runs inside the transaction of the change it tells of.")
    recipients = sorted(set(users))
    if not recipients:
        return 0
    deliveries = delivery_for(recipients, entry.category)
    states = [_email_state(deliveries[user_id]) for user_id in recipients]
    created = _insert(recipients, states, kind, organization_id, dict(params or {}), link, key)
    if any(state == Notification.Email.PENDING for _, state in created):
        from kernel.notification_mail import send_notification_emails  # it words notifications

        send_notification_emails.enqueue(
            [pk for pk, state in created if state == Notification.Email.PENDING]
        )
    return len(created)


def notify_members(
    kind: str,
    *,
    organization_id: int,
    permission: str,
    params: Mapping[str, str] | None = None,
    link: str = "",
    key: str = "",
) -> int:
    """`notify` the organization's active members whose current role holds `permission`
    (a catalogue name), as the directory knows them now. Nobody else."""
    roles = get_permission(permission).roles
    members = SOURCES.require_directory().members(organization_id)
    return notify(
        kind,
        users=[member.user_id for member in members if member.role in roles],
        organization_id=organization_id,
        params=params,
        link=link,
        key=key,
    )


def delivery_for(user_ids: Collection[int], category: str) -> dict[int, Delivery]:
    """Each person's choice for `category`: immediately unless they chose otherwise, and
    never off for security."""
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=user_ids, category=category).values_list(
            "user_id", "delivery"
        )
    )
    found = {user_id: Delivery(chosen.get(user_id, Delivery.IMMEDIATELY)) for user_id in user_ids}
    if category == Category.SECURITY:
        found = {u: Delivery.IMMEDIATELY if d == Delivery.OFF else d for u, d in found.items()}
    return found


def can_turn_off(category: str) -> bool:
    return category != Category.SECURITY


def _email_state(delivery: Delivery) -> Notification.Email:
    return {
        Delivery.IMMEDIATELY: Notification.Email.PENDING,
        Delivery.DAILY: Notification.Email.DIGEST,
        Delivery.OFF: Notification.Email.SKIPPED,
    }[delivery]


def _insert(
    users: list[int],
    states: list[Notification.Email],
    kind: str,
    organization_id: int | None,
    params: dict[str, str],
    link: str,
    key: str,
) -> list[tuple[int, str]]:
    """One statement for any number of recipients; (id, email state) of the rows created.
    ON CONFLICT skips those who already have this kind with this key (the partial unique
    constraint), which an ORM bulk insert could do but then not say which rows it wrote."""
    import json

    table = Notification._meta.db_table
    sql = (
        f'INSERT INTO "{table}" (user_id, organization_id, kind, params, link, key, '  # noqa: S608
        "email, created_at) "
        "SELECT r.user_id, %s, %s, %s::jsonb, %s, %s, r.email, now() "
        "FROM unnest(%s::bigint[], %s::text[]) AS r(user_id, email) "
        "ON CONFLICT (user_id, kind, key) WHERE key <> '' DO NOTHING "
        "RETURNING id, email"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [organization_id, kind, json.dumps(params), link, key, users, [str(s) for s in states]],
        )
        return [(pk, email) for pk, email in cursor.fetchall()]


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def notification_text(notification: Notification) -> str:
    """The notification's sentence in the active language; a missing parameter reads as
    nothing, and a kind no manifest declares any more as a plain notice."""
    entry = KINDS.get(notification.kind)
    if entry is None:
        return str(_("You have a notification."))
    values = _Blank({name: str(value) for name, value in (notification.params or {}).items()})
    return str(entry.text).format_map(values)


def category_of(notification: Notification) -> str:
    entry = KINDS.get(notification.kind)
    return entry.category if entry else Category.ORGANIZATION
