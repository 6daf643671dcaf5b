"""Deleting an account: refused while it would orphan an organization with other members."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, User
from accounts.stepup import require_step_up
from kernel import errors
from kernel.mutations import mutation
from kernel.permissions import Role
from organizations.models import Membership, Organization


def organizations_blocking_deletion(user: User) -> list[Organization]:
    """Organizations where the user is the only owner and other people are members."""
    owned = Membership.objects.unscoped().filter(user=user, role=Role.OWNER)  # the user's own
    return list(
        Organization.objects.filter(pk__in=owned.values("organization_id"))
        .annotate(
            owners=Count("memberships", filter=Q(memberships__role=Role.OWNER)),
            members=Count("memberships"),
        )
        .filter(owners=1, members__gt=1)
        .order_by("name")
    )


def account_delete(*, request: HttpRequest, user: User) -> None:
    """Delete the user, their memberships and the organizations only they belong to.

    Step-up: account.delete (level 4, the grant is spent). Raises `conflict` naming the
    organizations that need another owner first; the refusal is audited after the
    rolled-back transaction, so the record is kept.
    """
    try:
        require_step_up(request, "account.delete")
        _account_delete(request=request, user=user)
    except errors.AppError as error:
        record_security_event(
            request=request,
            user=user,
            kind="account.delete",
            result=SecurityEvent.Result.DENIED,
            reason=error.message,
        )
        raise


@mutation
def _account_delete(*, request: HttpRequest, user: User) -> None:
    blocking = organizations_blocking_deletion(user)
    if blocking:
        names = ", ".join(org.name for org in blocking)
        raise errors.conflict(
            f"You are the only owner of {names}, which has other members. "
            "Make someone else an owner, or remove the other members, first."
        )
    solo = Organization.objects.annotate(members=Count("memberships")).filter(
        members=1, memberships__user=user
    )
    solo_ids = list(solo.values_list("pk", flat=True))
    record_security_event(
        request=request,
        user=user,
        kind="account.delete",
        result=SecurityEvent.Result.SUCCESS,
        deleted_organizations=solo_ids,
    )
    Organization.objects.filter(pk__in=solo_ids).delete()
    user.delete()
