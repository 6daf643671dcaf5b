"""Writes of the organizations domain. Each is a @mutation (SERIALIZABLE, retried) that
begins with its permission check and writes its audit event in the same transaction.

Refusals are audited too (`audit_refusals`, after the rollback). Objects of another
organization are `not_found`, exactly like missing ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, User
from accounts.stepup import require_step_up
from billing.entitlements import member_limit, plan_names
from kernel import errors
from kernel.actor import Actor
from kernel.guard import require_app_permission
from kernel.mutations import mutation
from kernel.permissions import Role
from organizations import emails, queries
from organizations.actors import actor_for_membership
from organizations.audit import AuditAction, audit, audit_refusals
from organizations.models import Invitation, Membership, Organization
from organizations.signals import organization_deleted
from organizations.validation import normalize_email, organization_name_or_error


def is_team_mode() -> bool:
    return bool(settings.ORGANIZATIONS_MODE == "team")


def _require_team_mode() -> None:
    if not is_team_mode():
        raise errors.forbidden("This workspace runs in personal mode: there are no teams.")


def _member(actor: Actor, membership_id: int) -> Membership:
    try:
        return Membership.objects.for_actor(actor).select_related("user").get(pk=membership_id)
    except Membership.DoesNotExist:
        raise errors.not_found("There is no such member.") from None


def _invitation(actor: Actor, invitation_id: int) -> Invitation:
    try:
        return Invitation.objects.for_actor(actor).get(pk=invitation_id)
    except Invitation.DoesNotExist:
        raise errors.not_found("There is no such invitation.") from None


def _person(actor: Actor) -> int:
    if actor.user_id is None:
        raise errors.forbidden("Only a signed-in person can do this, not an API key.")
    return actor.user_id


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "organization"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- organizations -------------------------------------------------------------------------


def _create(user: User, name: str) -> Organization:
    organization = Organization.objects.create(name=name, slug=_unique_slug(name))
    owner = Membership.objects.create(organization=organization, user=user, role=Role.OWNER)
    audit(
        organization_id=organization.pk,
        action=AuditAction.ORGANIZATION_CREATE,
        actor=actor_for_membership(owner),
        target=organization.name,
    )
    return organization


@mutation
def organization_create(*, user: User, name: str) -> Organization:
    """A new organization owned by `user`. Team mode only. Raises `invalid_input`."""
    _require_team_mode()
    return _create(user, organization_name_or_error(name))


@mutation
def personal_organization_create(*, user: User) -> Organization:
    """Internal: the organization every new user gets at sign-up (both modes)."""
    existing = Membership.objects.unscoped().filter(user=user).first()  # the user's own
    if existing is not None:
        return existing.organization
    label = user.get_short_name()[:40] or "My"
    return _create(user, organization_name_or_error(f"{label}'s workspace"))


@audit_refusals(AuditAction.ORGANIZATION_RENAME)
@mutation
def organization_rename(*, actor: Actor, name: str) -> Organization:
    """Permission: organization.update. Raises `invalid_input` for a bad name."""
    require_app_permission(actor, "organization.update")
    clean = organization_name_or_error(name)
    organization = Organization.objects.select_for_update().get(pk=actor.organization_id)
    previous, organization.name = organization.name, clean
    organization.save(update_fields=["name"])
    audit(
        organization_id=organization.pk,
        action=AuditAction.ORGANIZATION_RENAME,
        actor=actor,
        target=clean,
        previous=previous,
    )
    return organization


@audit_refusals(AuditAction.ORGANIZATION_DELETE)
@mutation
def organization_delete(*, actor: Actor, request: HttpRequest, confirm_name: str) -> None:
    """Permission: organization.delete (owners); step-up level 4; the exact name typed.

    Deletes every tenant row of the organization and nothing else.
    """
    require_app_permission(actor, "organization.delete")
    organization = Organization.objects.get(pk=actor.organization_id)
    if confirm_name.strip() != organization.name:
        raise errors.invalid_input(
            "Type the organization's name to confirm.",
            fields={"confirm_name": [f"Type {organization.name!r} exactly."]},
        )
    require_step_up(request, "organization.delete", organization_id=organization.pk)
    user = User.objects.filter(pk=_person(actor)).first()
    # The organization's own audit log goes with it; the account keeps the record.
    record_security_event(
        request=request,
        user=user,
        kind="organization.delete",
        result=SecurityEvent.Result.SUCCESS,
        organization_id=organization.pk,
        organization_name=organization.name,
    )
    organization_id, name = organization.pk, organization.name
    organization.delete()
    transaction.on_commit(
        lambda: organization_deleted.send(
            sender=Organization, organization_id=organization_id, name=name
        )
    )


@audit_refusals(AuditAction.ORGANIZATION_TRANSFER)
@mutation
def ownership_transfer(*, actor: Actor, request: HttpRequest, membership_id: int) -> Membership:
    """Permission: organization.transfer (owners); step-up level 3. The target becomes an
    owner and the actor an admin."""
    require_app_permission(actor, "organization.transfer")
    target = _member(actor, membership_id)
    if target.user_id == actor.user_id:
        raise errors.conflict("You already own this organization.")
    require_step_up(request, "organization.transfer", organization_id=actor.organization_id)
    Membership.objects.for_actor(actor).filter(pk=target.pk).update(role=Role.OWNER)
    Membership.objects.for_actor(actor).filter(user_id=_person(actor)).update(role=Role.ADMIN)
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.ORGANIZATION_TRANSFER,
        actor=actor,
        target=target.user.email,
    )
    target.refresh_from_db()
    return target


# --- members --------------------------------------------------------------------------------


@audit_refusals(AuditAction.MEMBER_UPDATE_ROLE)
@mutation
def member_update_role(*, actor: Actor, membership_id: int, role: Role) -> Membership:
    """Permission: member.update_role, with the policies (no one changes a higher role;
    the last owner stays). No one grants a role above their own."""
    _require_team_mode()
    target = _member(actor, membership_id)
    require_app_permission(actor, "member.update_role", target=target)
    if Role(role).rank > actor.role.rank:
        raise errors.forbidden("You cannot give someone a role above your own.")
    previous = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.MEMBER_UPDATE_ROLE,
        actor=actor,
        target=target.user.email,
        previous=previous,
        role=str(role),
    )
    return target


@audit_refusals(AuditAction.MEMBER_REMOVE)
@mutation
def member_remove(*, actor: Actor, membership_id: int) -> None:
    """Permission: member.remove, with the policies. To remove yourself, leave."""
    _require_team_mode()
    target = _member(actor, membership_id)
    if target.user_id == actor.user_id:
        raise errors.conflict("To remove yourself, leave the organization.")
    require_app_permission(actor, "member.remove", target=target)
    target.delete()
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.MEMBER_REMOVE,
        actor=actor,
        target=target.user.email,
    )


@audit_refusals(AuditAction.MEMBER_LEAVE)
@mutation
def member_leave(*, actor: Actor) -> None:
    """Any member may leave, except the last owner."""
    _require_team_mode()
    require_app_permission(actor, "organization.read")
    mine = Membership.objects.for_actor(actor).select_related("user").get(user_id=_person(actor))
    if mine.role == Role.OWNER and not mine.has_other_owners():
        raise errors.conflict(
            "You are the last owner. Make someone else an owner, or delete the organization."
        )
    mine.delete()
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.MEMBER_LEAVE,
        actor=actor,
        target=mine.user.email,
    )


# --- invitations ----------------------------------------------------------------------------


def _seats_left(organization_id: int) -> int | None:
    limit = member_limit(organization_id)
    return None if limit is None else limit - queries.seats_used(organization_id)


def _send_invitation(request: HttpRequest | None, invitation: Invitation, token: str) -> None:
    transaction.on_commit(lambda: emails.send_invitation(request, invitation.pk, token))


@audit_refusals(AuditAction.INVITATION_CREATE)
@mutation
def invitation_create(
    *, actor: Actor, request: HttpRequest | None, email: str, role: Role
) -> tuple[Invitation, str]:
    """Permission: member.invite (and the plan's capability). Returns the invitation and
    its token (only ever sent by email). The seat check and the insert are one
    SERIALIZABLE transaction, so two invitations cannot both take the last seat."""
    _require_team_mode()
    require_app_permission(actor, "member.invite")
    address = normalize_email(email)
    if Role(role).rank > actor.role.rank:
        raise errors.forbidden("You cannot invite someone with a role above your own.")
    if Membership.objects.for_actor(actor).filter(user__email__iexact=address).exists():
        raise errors.conflict(f"{address} is already a member.")
    pending = Invitation.objects.for_actor(actor).filter(
        email__iexact=address, accepted_at=None, declined_at=None, revoked_at=None
    )
    live = pending.filter(expires_at__gt=timezone.now())
    if live.exists():
        raise errors.conflict(f"{address} already has a pending invitation. Resend it instead.")
    pending.update(revoked_at=timezone.now())  # an expired one gives way to the new one
    seats = _seats_left(actor.organization_id)
    if seats is not None and seats <= 0:
        current, upgrade = plan_names(actor.organization_id)
        raise errors.plan_limit(
            f"The {current} plan's seats are all taken (members and pending invitations). "
            f"Upgrade to {upgrade} to invite more people."
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organization_id=actor.organization_id,
        email=address,
        role=role,
        token_hash=_hash_token(token),
        invited_by_id=actor.user_id,
        expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
        last_sent_at=now,
    )
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.INVITATION_CREATE,
        actor=actor,
        target=address,
        request=request,
        role=str(role),
    )
    _send_invitation(request, invitation, token)
    return invitation, token


@audit_refusals(AuditAction.INVITATION_RESEND)
@mutation
def invitation_resend(
    *, actor: Actor, request: HttpRequest | None, invitation_id: int
) -> tuple[Invitation, str]:
    """Permission: member.invite. A new link (the old one stops working) and a fresh
    expiry. Rate limited per organization."""
    _require_team_mode()
    require_app_permission(actor, "member.invite")
    invitation = _invitation(actor, invitation_id)
    if not invitation.is_pending:
        raise errors.conflict("This invitation is no longer pending.")
    hour_ago = timezone.now() - timedelta(hours=1)
    sent = Invitation.objects.for_actor(actor).filter(last_sent_at__gt=hour_ago).count()
    if sent >= settings.INVITATION_RESENDS_PER_HOUR:
        raise errors.rate_limited(3600, "Too many invitations sent in the last hour.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = _hash_token(token)
    invitation.last_sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation.save(update_fields=["token_hash", "last_sent_at", "expires_at"])
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.INVITATION_RESEND,
        actor=actor,
        target=invitation.email,
    )
    _send_invitation(request, invitation, token)
    return invitation, token


@audit_refusals(AuditAction.INVITATION_REVOKE)
@mutation
def invitation_revoke(*, actor: Actor, invitation_id: int) -> Invitation:
    """Permission: invitation.cancel."""
    require_app_permission(actor, "invitation.cancel")
    invitation = _invitation(actor, invitation_id)
    if not invitation.is_pending:
        raise errors.conflict("This invitation is no longer pending.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.INVITATION_REVOKE,
        actor=actor,
        target=invitation.email,
    )
    return invitation


def invitation_by_token(token: str) -> Invitation | None:
    """Internal: the invitation a link points at (any organization; the token is the key)."""
    return (
        Invitation.objects.unscoped()
        .select_related("organization")
        .filter(token_hash=_hash_token(token))
        .first()
    )


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why a link cannot be used, in words for the invitee; None if it can."""
    if invitation is None:
        return "This invitation link is not valid. Ask for a new invitation."
    if invitation.accepted_at:
        return "This invitation has already been accepted."
    if invitation.revoked_at:
        return "This invitation was withdrawn. Ask for a new one if you still need access."
    if invitation.declined_at:
        return "This invitation was declined."
    if invitation.expires_at <= timezone.now():
        return "This invitation has expired. Ask for a new one."
    return None


def _pending_for(user: User, token: str) -> Invitation:
    invitation = invitation_by_token(token)
    problem = invitation_problem(invitation)
    if problem is not None or invitation is None:
        raise errors.conflict(problem or "Invalid invitation.")
    if normalize_email(user.email) != normalize_email(invitation.email):
        raise errors.forbidden(
            f"This invitation was sent to {invitation.email}, and you are signed in as "
            f"{user.email}."
        )
    return invitation


@mutation
def invitation_accept(*, user: User, token: str) -> Membership:
    """The invited person joins, with the invited role. The invitation is single-use and
    bound to the invited address."""
    _require_team_mode()
    invitation = _pending_for(user, token)
    if Membership.objects.for_organization(invitation.organization_id).filter(user=user).exists():
        raise errors.conflict("You are already a member of this organization.")
    membership = Membership.objects.create(
        organization_id=invitation.organization_id, user=user, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit(
        organization_id=invitation.organization_id,
        action=AuditAction.INVITATION_ACCEPT,
        actor=actor_for_membership(membership),
        target=user.email,
        role=invitation.role,
    )
    return membership


@mutation
def invitation_decline(*, user: User, token: str) -> Invitation:
    invitation = _pending_for(user, token)
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])
    audit(
        organization_id=invitation.organization_id,
        action=AuditAction.INVITATION_DECLINE,
        actor=None,
        target=user.email,
    )
    return invitation
