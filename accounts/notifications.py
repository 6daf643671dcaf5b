"""A person's own notifications and email preferences: the bell's count (a personal live
query), the list, marking read, and how each category is emailed.

Personal functions: there is no user id to pass, so nobody reads or marks another's.
Another person's notification id is `not_found`, the same as a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel

from kernel import errors
from kernel.actor import Person
from kernel.functions import mutation, query
from kernel.inputs import Input
from kernel.models import Notification, NotificationPreference
from kernel.notifications import Category, Delivery, can_turn_off, delivery_for, notification_text

LIST_SIZE: Final = 50
UNAUDITED: Final = "the person's own notifications, in no organization's data"


class UnreadOut(BaseModel):
    count: int


class NotificationOut(BaseModel):
    id: int
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    notifications: list[NotificationOut]
    unread: int


class NotificationId(Input):
    notification_id: int


class MarkedOut(BaseModel):
    marked: int


class PreferenceOut(BaseModel):
    category: str
    label: str
    delivery: str
    can_turn_off: bool


DeliveryChoice = Literal["immediately", "daily", "off"]


class PreferencesUpdate(Input):
    security: Literal["immediately", "daily"] | None = None
    organization: DeliveryChoice | None = None
    billing: DeliveryChoice | None = None
    data: DeliveryChoice | None = None


PREFERENCE_LABELS: Final = {
    "security": gettext_lazy("Security notices"),
    "organization": gettext_lazy("Organizations and members"),
    "billing": gettext_lazy("Billing"),
    "data": gettext_lazy("Data exports"),
}


def _own(actor: Person) -> QuerySet[Notification]:
    return Notification.objects.filter(user_id=actor.user_id)


@query("notifications.unread", personal=True, live=True, output=UnreadOut)
def notification_unread(*, actor: Person) -> UnreadOut:
    """How many of the person's own notifications are unread (the header's bell)."""
    return UnreadOut(count=_own(actor).filter(read_at__isnull=True).count())


@query("notifications.list", personal=True, output=NotificationPage)
def notification_list(*, actor: Person) -> NotificationPage:
    """The person's latest notifications, newest first, worded in the active language."""
    rows = _own(actor).order_by("-created_at", "-pk")[:LIST_SIZE]
    return NotificationPage(
        notifications=[
            NotificationOut(
                id=n.pk,
                text=notification_text(n),
                link=n.link,
                created_at=n.created_at,
                read_at=n.read_at,
            )
            for n in rows
        ],
        unread=_own(actor).filter(read_at__isnull=True).count(),
    )


@mutation("notifications.mark_read", personal=True, output=MarkedOut, unaudited=UNAUDITED)
def notification_mark_read(*, actor: Person, args: NotificationId) -> MarkedOut:
    """Mark one of the person's own notifications read; another's (or none) is not_found."""
    found = _own(actor).filter(pk=args.notification_id).first()
    if found is None:
        raise errors.not_found(_("There is no such notification."))
    if found.read_at is None:
        found.read_at = timezone.now()
        found.save(update_fields=["read_at"])
        return MarkedOut(marked=1)
    return MarkedOut(marked=0)


@mutation("notifications.mark_all_read", personal=True, output=MarkedOut, unaudited=UNAUDITED)
def notification_mark_all_read(*, actor: Person) -> MarkedOut:
    """Mark every unread notification of the person's read."""
    marked = _own(actor).filter(read_at__isnull=True).update(read_at=timezone.now())
    return MarkedOut(marked=marked)


@query("notifications.preferences", personal=True, output=list[PreferenceOut])
def notification_preferences(*, actor: Person) -> list[PreferenceOut]:
    """How each category is emailed to the person (immediately unless they chose)."""
    return _preferences(actor)


def _preferences(actor: Person) -> list[PreferenceOut]:
    return [
        PreferenceOut(
            category=category,
            label=str(PREFERENCE_LABELS[category]),
            delivery=delivery_for([actor.user_id], category)[actor.user_id],
            can_turn_off=can_turn_off(category),
        )
        for category in Category
    ]


@mutation(
    "notifications.preferences_update",
    personal=True,
    output=list[PreferenceOut],
    unaudited=UNAUDITED,
)
def notification_preferences_update(
    *, actor: Person, args: PreferencesUpdate
) -> list[PreferenceOut]:
    """Set how each category is emailed (fields left out stay); security is never off."""
    for category in Category:
        chosen = getattr(args, category.value)
        if chosen is None:
            continue
        if chosen == Delivery.OFF and not can_turn_off(category):
            message = _("Security notices cannot be turned off.")
            raise errors.invalid_input(message, fields={category.value: [message]})
        NotificationPreference.objects.update_or_create(
            user_id=actor.user_id, category=category, defaults={"delivery": chosen}
        )
    return _preferences(actor)
