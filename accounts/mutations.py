"""A person's own account: their profile, and deleting the account (refused while it
would orphan something that others share: the apps above say what, through
`account_deletion_blockers`)."""

from __future__ import annotations

from typing import cast

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pydantic import Field

from accounts.audit import record_security_event
from accounts.avatars import image_format
from accounts.models import SecurityEvent, User, avatar_path
from accounts.schemas import ProfileOut, ProfileUpdate
from accounts.signals import account_deleting, account_deletion_blockers
from kernel import errors
from kernel.actor import Person
from kernel.functions import mutation
from kernel.inputs import Input
from kernel.stepup import require_step_up


@mutation(
    "account.profile_update",
    personal=True,
    output=ProfileOut,
    unaudited="the person's own account, in no organization",
)
def profile_update(*, actor: Person, args: ProfileUpdate) -> User:
    """Change the signed-in person's own profile (theirs only: there is no user id to
    pass). Fields left out stay as they are; an empty display name clears it. A new
    avatar replaces the old one, whose file is deleted once the change committed."""
    user = User.objects.select_for_update().get(pk=actor.user_id)
    changed: list[str] = []
    for name in ("display_name", "time_zone", "language"):
        value = getattr(args, name)
        if value is not None and value != getattr(user, name):
            setattr(user, name, value)
            changed.append(name)
    old = user.avatar.name
    if args.avatar is not None:
        content = bytes(args.avatar)
        name = avatar_path(user, f"avatar.{image_format(content)}")
        user.avatar.name = name
        # Storage is outside the transaction: write once, after the attempt that commits.
        transaction.on_commit(lambda: default_storage.save(name, ContentFile(content)))
        changed.append("avatar")
    elif args.remove_avatar and old:
        user.avatar.name = ""
        changed.append("avatar")
    if "avatar" in changed and old:
        transaction.on_commit(lambda: default_storage.delete(old))
    if changed:
        user.save(update_fields=changed)
    return user


def blocked_message(blocking: list[str]) -> str:
    return ngettext(
        "You are the only owner of %(names)s, which has other members: transfer "
        "ownership or delete it first.",
        "You are the only owner of %(names)s, which have other members: transfer "
        "ownership or delete them first.",
        len(blocking),
    ) % {"names": ", ".join(blocking)}


def deletion_blockers(user: User) -> list[str]:
    """Names of what the deletion would orphan (organizations with other members)."""
    found: list[str] = []
    for _receiver, names in account_deletion_blockers.send(sender=User, user=user):
        found.extend(cast(list[str], names))
    return sorted(found)


class AccountDelete(Input):
    confirm_email: str = Field(
        max_length=254, description="The account's address, typed to confirm"
    )


@mutation(
    "account.delete",
    personal=True,
    unaudited="the person's own account (its security log keeps the record); organizations "
    "only they belong to go with it",
)
def account_delete(*, actor: Person, args: AccountDelete) -> None:
    """Delete the signed-in person's account at once, with its address typed: their
    personal data is erased now (docs/operations.md); the organizations they alone belong
    to are scheduled for deletion like any other (the `account_deleting` receivers).
    `conflict` names what needs another owner first; then step-up level 4
    (the grant is spent). The checks come before the step-up, so nobody confirms it is
    them only to learn the deletion cannot happen."""
    user = User.objects.get(pk=actor.user_id)
    if args.confirm_email.strip().lower() != user.email:
        raise errors.invalid_input(
            fields={"confirm_email": [_("Type your email address exactly to confirm.")]}
        )
    blocking = deletion_blockers(user)
    if blocking:
        raise errors.conflict(blocked_message(blocking))
    require_step_up(actor, "account.delete")
    deleted: list[int] = []
    for _receiver, ids in account_deleting.send(sender=User, user=user):
        deleted.extend(cast(list[int], ids or []))
    record_security_event(
        request=None,
        ip_address=actor.auth.client_ip,
        user=user,
        kind="account.delete",
        result=SecurityEvent.Result.SUCCESS,
        deleted_organizations=deleted,
    )
    user.delete()
