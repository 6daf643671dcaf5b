"""Deleting an account: refused while it would orphan something that others share (the
apps above say what, through `account_deletion_blockers`)."""

from __future__ import annotations

from typing import cast

from pydantic import Field

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, User
from accounts.signals import account_deleting, account_deletion_blockers
from kernel import errors
from kernel.actor import Person
from kernel.functions import mutation
from kernel.inputs import Input


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


@mutation("account.delete", personal=True, step_up="account.delete")
def account_delete(*, actor: Person, args: AccountDelete) -> None:
    """Delete the signed-in person's account and what belongs to them alone, with its
    address typed. Step-up level 4 (the grant is spent). `conflict` names what needs
    another owner first."""
    user = User.objects.get(pk=actor.user_id)
    if args.confirm_email.strip().lower() != user.email:
        raise errors.invalid_input(
            fields={"confirm_email": ["Type your email address exactly to confirm."]}
        )
    blocking = deletion_blockers(user)
    if blocking:
        raise errors.conflict(
            f"You are the only owner of {', '.join(blocking)}, which has other members. "
            "Make someone else an owner, or remove the other members, first."
        )
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
