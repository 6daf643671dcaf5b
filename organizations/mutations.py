"""Writes of the organizations domain, registered with the kernel. The door runs each in
one SERIALIZABLE transaction (retried), with the actor re-read inside it; each writes its
audit row in that transaction: each declares its action (`audit=`) and says what the row
is about (`audit.describe`), the door writes it, and a refusal after the rollback.
Objects of another organization are `not_found`, exactly like missing ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, User
from kernel import audit, errors
from kernel.actor import Actor, Person, System
from kernel.functions import mutation
from kernel.guard import require_app_permission
from kernel.limits import require_within_limit
from kernel.notifications import notify
from kernel.permissions import CATALOGUE, Role, role_permissions
from kernel.tenancy import get_for_actor
from organizations import deletion, emails, policies
from organizations.audit import AuditAction
from organizations.directory import KEY_PREFIX, hash_key
from organizations.models import ApiKey, Invitation, Membership, Organization
from organizations.queries import seats_used
from organizations.schemas import (
    ApiKeyCreate,
    ApiKeyCreatedOut,
    ApiKeyOut,
    ApiKeyTarget,
    InvitationCreate,
    InvitationOut,
    InvitationTarget,
    InvitationToken,
    MemberOut,
    MemberRole,
    MemberTarget,
    OperatorMembership,
    OperatorRemoval,
    OrganizationCreate,
    OrganizationDelete,
    OrganizationOut,
    OrganizationRename,
    Transfer,
)

SEATS = "organization.members"


def is_team_mode() -> bool:
    return bool(settings.ORGANIZATIONS_MODE == "team")


def _require_team_mode() -> None:
    if not is_team_mode():
        raise errors.forbidden("This workspace runs in personal mode: there are no teams.")


def _member(actor: Actor, membership_id: int) -> Membership:
    return get_for_actor(
        Membership,
        membership_id,
        actor,
        message="There is no such member.",
        queryset=Membership.objects.for_actor(actor).select_related("user"),
    )


def _invitation(actor: Actor, invitation_id: int) -> Invitation:
    return get_for_actor(Invitation, invitation_id, actor, message="There is no such invitation.")


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


def _create(person: Person, name: str) -> Organization:
    organization = Organization.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(organization=organization, user_id=person.user_id, role=Role.OWNER)
    audit.describe(
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        organization_id=organization.pk,
    )
    return organization


@mutation(
    "organizations.create",
    personal=True,
    output=OrganizationOut,
    audit=AuditAction.ORGANIZATION_CREATE,
)
def organization_create(*, actor: Person, args: OrganizationCreate) -> Organization:
    """A new organization owned by the signed-in person. Team mode only."""
    _require_team_mode()
    return _create(actor, args.name)


@mutation(
    "organizations.create_personal",
    internal=True,
    output=OrganizationOut,
    audit=AuditAction.ORGANIZATION_CREATE,
)
def personal_organization_create(*, actor: Person) -> Organization:
    """The organization every new user gets at sign-up (both modes)."""
    existing = Membership.objects.unscoped().filter(user_id=actor.user_id).first()  # their own
    if existing is not None:
        audit.unchanged()
        return existing.organization
    user = User.objects.get(pk=actor.user_id)
    label = user.get_short_name()[:40] or "My"
    return _create(actor, OrganizationCreate(name=f"{label}'s workspace").name)


@mutation(
    "organization.rename",
    permission="organization.update",
    output=OrganizationOut,
    audit=AuditAction.ORGANIZATION_RENAME,
)
def organization_rename(*, actor: Actor, args: OrganizationRename) -> Organization:
    organization = Organization.objects.get(pk=actor.organization_id)
    previous, organization.name = organization.name, args.name
    organization.save(update_fields=["name"])
    audit.describe(
        target=args.name, target_type="organization", target_id=organization.pk, previous=previous
    )
    return organization


@mutation(
    "organization.delete",
    permission="organization.delete",
    step_up="organization.delete",
    audit=AuditAction.ORGANIZATION_SCHEDULE_DELETION,
)
def organization_delete(*, actor: Actor, args: OrganizationDelete) -> None:
    """Owners, with the name typed; step-up level 4 (the grant is spent). Schedules the
    deletion: the organization is `pending_deletion` for ORGANIZATION_DELETION_GRACE_DAYS
    (nobody acts in it; its owners may restore it), its billing is cancelled now, and the
    purge task deletes every tenant row of it, and nothing else, after that
    (organizations/deletion.py)."""
    organization = Organization.objects.select_for_update().get(pk=actor.organization_id)
    if args.confirm_name.strip() != organization.name:
        raise errors.invalid_input(
            "Type the organization's name to confirm.",
            fields={"confirm_name": [f"Type {organization.name!r} exactly."]},
        )
    user = User.objects.filter(pk=_person(actor)).first()
    deletion.schedule(organization, by=f"Deleted by {user.email if user else 'an owner'}")
    due = organization.deletion_due_at
    record_security_event(
        request=None,
        ip_address=actor.auth.client_ip,
        user=user,
        kind=AuditAction.ORGANIZATION_SCHEDULE_DELETION,
        result=SecurityEvent.Result.SUCCESS,
        organization_id=organization.pk,
        organization_name=organization.name,
        due_at=due.isoformat() if due else "",
    )
    audit.describe(
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        due=f"{due:%d %B %Y}" if due else "",
    )


@mutation(
    "organization.transfer",
    permission="organization.transfer",
    step_up="organization.transfer",
    output=MemberOut,
    audit=AuditAction.ORGANIZATION_TRANSFER,
)
def ownership_transfer(*, actor: Actor, args: Transfer) -> Membership:
    """Owners; step-up level 3. The target becomes an owner and the actor an admin."""
    target = _member(actor, args.membership_id)
    audit.describe(target=target.user.email, target_type="member", target_id=target.pk)
    if target.user_id == actor.user_id:
        raise errors.conflict("You already own this organization.")
    Membership.objects.for_actor(actor).filter(pk=target.pk).update(role=Role.OWNER)
    Membership.objects.for_actor(actor).filter(user_id=_person(actor)).update(role=Role.ADMIN)
    target.refresh_from_db()
    return target


# --- members --------------------------------------------------------------------------------


@mutation(
    "members.update_role",
    permission="member.update_role",
    output=MemberOut,
    audit=AuditAction.MEMBER_UPDATE_ROLE,
)
def member_update_role(*, actor: Actor, args: MemberRole) -> Membership:
    """With the policies (no one changes a higher role; the last owner stays). No one
    grants a role above their own."""
    _require_team_mode()
    target = _member(actor, args.membership_id)
    audit.describe(
        target=target.user.email,
        target_type="member",
        target_id=target.pk,
        previous=target.role,
        role=str(args.role),
    )
    require_app_permission(actor, "member.update_role", target=target)
    if args.role.rank > actor.role.rank:
        raise errors.forbidden("You cannot give someone a role above your own.")
    changed = target.role != args.role
    target.role = args.role
    target.save(update_fields=["role"])
    if changed:
        _tell_role_changed(target)
    return target


def _tell_role_changed(membership: Membership) -> None:
    organization = membership.organization
    notify(
        "member.role_changed",
        users=[membership.user_id],
        organization_id=organization.pk,
        params={"organization": organization.name, "role": str(membership.role)},
        link=reverse("organization_members"),
    )


def _tell_removed(membership: Membership) -> None:
    organization = membership.organization
    notify(
        "member.removed",
        users=[membership.user_id],
        organization_id=organization.pk,
        params={"organization": organization.name},
    )


@mutation("members.remove", permission="member.remove", audit=AuditAction.MEMBER_REMOVE)
def member_remove(*, actor: Actor, args: MemberTarget) -> None:
    """With the policies. To remove yourself, leave."""
    _require_team_mode()
    target = _member(actor, args.membership_id)
    audit.describe(target=target.user.email, target_type="member", target_id=target.pk)
    if target.user_id == actor.user_id:
        raise errors.conflict("To remove yourself, leave the organization.")
    require_app_permission(actor, "member.remove", target=target)
    target.delete()
    _tell_removed(target)


@mutation("members.leave", permission="organization.read", audit=AuditAction.MEMBER_LEAVE)
def member_leave(*, actor: Actor) -> None:
    """Any member may leave, except the last owner."""
    _require_team_mode()
    mine = Membership.objects.for_actor(actor).select_related("user").get(user_id=_person(actor))
    if mine.role == Role.OWNER and not mine.has_other_owners():
        raise errors.conflict(
            "You are the last owner. Make someone else an owner, or delete the organization."
        )
    member_id = mine.pk
    mine.delete()
    audit.describe(target=mine.user.email, target_type="member", target_id=member_id)


@mutation(
    "memberships.save_by_operator",
    internal=True,
    output=MemberOut,
    audit=AuditAction.MEMBER_UPDATE_ROLE,
)
def membership_save_by_operator(*, actor: System, args: OperatorMembership) -> Membership:
    """An operator adds a member or changes a role in the admin: the last owner stays,
    and the change is audited with the operator's name."""
    membership = (
        Membership.objects.unscoped().filter(pk=args.membership_id).first()  # operators
        if args.membership_id
        else None
    )
    previous = membership.role if membership else ""
    demoted = membership is not None and previous == Role.OWNER and args.role != Role.OWNER
    if demoted and membership is not None and not membership.has_other_owners():
        raise errors.conflict(_LAST_OWNER)
    if membership is None:
        membership = Membership.objects.create(
            organization_id=args.organization_id, user_id=args.user_id, role=args.role
        )
    else:
        membership.role = args.role
        membership.save(update_fields=["role"])
        if previous != membership.role:
            _tell_role_changed(membership)
    audit.describe(
        action=AuditAction.MEMBER_UPDATE_ROLE if previous else AuditAction.MEMBER_ADD,
        target=User.objects.get(pk=membership.user_id).email,
        target_type="member",
        target_id=membership.pk,
        organization_id=membership.organization_id,
        previous=previous,
        role=str(args.role),
    )
    return membership


@mutation("memberships.remove_by_operator", internal=True, audit=AuditAction.MEMBER_REMOVE)
def membership_remove_by_operator(*, actor: System, args: OperatorRemoval) -> None:
    """An operator removes a member in the admin: never the last owner; audited."""
    membership = Membership.objects.unscoped().select_related("user").get(pk=args.membership_id)
    if membership.role == Role.OWNER and not membership.has_other_owners():
        raise errors.conflict(_LAST_OWNER)
    member_id = membership.pk
    membership.delete()
    _tell_removed(membership)
    audit.describe(
        target=membership.user.email,
        target_type="member",
        target_id=member_id,
        organization_id=membership.organization_id,
    )


_LAST_OWNER = "This is the organization's last owner. Make someone else an owner first."


# --- invitations ----------------------------------------------------------------------------


def _send_invitation(invitation: Invitation, token: str) -> None:
    # Rendered now and queued in this transaction: sent once it commits, never otherwise.
    emails.send_invitation(invitation.pk, token)


@mutation(
    "invitations.create",
    permission="member.invite",
    output=InvitationOut,
    audit=AuditAction.INVITATION_CREATE,
    counts=SEATS,
)
def invitation_create(*, actor: Actor, args: InvitationCreate) -> Invitation:
    """Emails a link (its token is stored only hashed). The seat check and the insert are
    one SERIALIZABLE transaction, so two invitations cannot both take the last seat."""
    _require_team_mode()
    address = args.email
    if args.role.rank > actor.role.rank:
        raise errors.forbidden("You cannot invite someone with a role above your own.")
    policies.require_allowed_domain(actor.organization_id, address)
    if Membership.objects.for_actor(actor).filter(user__email__iexact=address).exists():
        raise errors.conflict(f"{address} is already a member.")
    pending = Invitation.objects.for_actor(actor).filter(
        email__iexact=address, accepted_at=None, declined_at=None, revoked_at=None
    )
    if pending.filter(expires_at__gt=timezone.now()).exists():
        raise errors.conflict(f"{address} already has a pending invitation. Resend it instead.")
    pending.update(revoked_at=timezone.now())  # an expired one gives way to the new one
    require_within_limit(actor, SEATS, used=seats_used(actor.organization_id))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organization_id=actor.organization_id,
        email=address,
        role=args.role,
        token_hash=_hash_token(token),
        invited_by_id=actor.user_id,
        expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
        last_sent_at=now,
    )
    audit.describe(
        target=address, target_type="invitation", target_id=invitation.pk, role=str(args.role)
    )
    _send_invitation(invitation, token)
    _tell_invited(invitation)
    return invitation


def _tell_invited(invitation: Invitation) -> None:
    """Someone who already has an account also hears of it in the app. The link's token
    is only in the email (it is stored hashed), so the notice points there."""
    invitee = User.objects.filter(email__iexact=invitation.email, is_active=True).first()
    if invitee is None:
        return
    inviter = invitation.invited_by
    notify(
        "invitation.received",
        users=[invitee.pk],
        organization_id=invitation.organization_id,
        params={
            "organization": invitation.organization.name,
            "inviter": inviter.name if inviter is not None else "",
            "role": str(invitation.role),
            "email": invitation.email,
        },
        key=f"invitation:{invitation.pk}",
    )


@mutation(
    "invitations.resend",
    permission="member.invite",
    output=InvitationOut,
    audit=AuditAction.INVITATION_RESEND,
)
def invitation_resend(*, actor: Actor, args: InvitationTarget) -> Invitation:
    """A new link (the old one stops working) and a fresh expiry. Rate limited per
    organization."""
    _require_team_mode()
    invitation = _invitation(actor, args.invitation_id)
    audit.describe(target=invitation.email, target_type="invitation", target_id=invitation.pk)
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
    _send_invitation(invitation, token)
    return invitation


@mutation(
    "invitations.revoke",
    permission="invitation.cancel",
    output=InvitationOut,
    audit=AuditAction.INVITATION_REVOKE,
)
def invitation_revoke(*, actor: Actor, args: InvitationTarget) -> Invitation:
    invitation = _invitation(actor, args.invitation_id)
    audit.describe(target=invitation.email, target_type="invitation", target_id=invitation.pk)
    if not invitation.is_pending:
        raise errors.conflict("This invitation is no longer pending.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
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


def _pending_for(person: Person, token: str) -> Invitation:
    invitation = invitation_by_token(token)
    problem = invitation_problem(invitation)
    if problem is not None or invitation is None:
        raise errors.conflict(problem or "Invalid invitation.")
    user = User.objects.get(pk=person.user_id)
    if user.email.lower() != invitation.email.lower():
        raise errors.forbidden(
            f"This invitation was sent to {invitation.email}, and you are signed in as "
            f"{user.email}."
        )
    return invitation


@mutation(
    "invitations.accept",
    personal=True,
    output=MemberOut,
    audit=AuditAction.INVITATION_ACCEPT,
)
def invitation_accept(*, actor: Person, args: InvitationToken) -> Membership:
    """The invited person joins, with the invited role. The invitation is single-use and
    bound to the invited address."""
    _require_team_mode()
    invitation = _pending_for(actor, args.token)
    organization_id = invitation.organization_id
    if Membership.objects.for_organization(organization_id).filter(user_id=actor.user_id).exists():
        raise errors.conflict("You are already a member of this organization.")
    membership = Membership.objects.create(
        organization_id=organization_id, user_id=actor.user_id, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by_id = actor.user_id
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.describe(
        target=membership.user.email,
        target_type="member",
        target_id=membership.pk,
        organization_id=organization_id,
        role=invitation.role,
        invitation_id=invitation.pk,
    )
    return membership


@mutation("invitations.decline", personal=True, audit=AuditAction.INVITATION_DECLINE)
def invitation_decline(*, actor: Person, args: InvitationToken) -> None:
    invitation = _pending_for(actor, args.token)
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])
    audit.describe(
        target=User.objects.get(pk=actor.user_id).email,
        target_type="invitation",
        target_id=invitation.pk,
        organization_id=invitation.organization_id,
    )


# --- API keys -------------------------------------------------------------------------------


@mutation(
    "api_keys.create",
    permission="api_keys.manage",
    step_up="api_keys.create",
    output=ApiKeyCreatedOut,
    audit=AuditAction.API_KEY_CREATE,
)
def api_key_create(*, actor: Actor, args: ApiKeyCreate) -> ApiKeyCreatedOut:
    """Step-up level 2. Returns the key and its secret (the only time it is available).
    Its permissions are a subset of the creator's; it acts with them ∩ the creator's
    current role, and stops working when the creator leaves."""
    if actor.api_key_id is not None:
        raise errors.forbidden("API keys cannot create API keys.")
    unknown = sorted(set(args.permissions) - set(CATALOGUE))
    if unknown:
        raise errors.invalid_input(
            fields={"permissions": [f"Unknown permissions: {', '.join(unknown)}."]}
        )
    beyond = sorted(set(args.permissions) - set(role_permissions(actor.role)))
    if beyond:
        raise errors.forbidden(
            f"You cannot give a key permissions you do not have: {', '.join(beyond)}."
        )
    policies.require_key_lifetime(actor.organization_id, args.expires_in_days)
    expires_at = (
        timezone.now() + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    )
    key, secret = api_key_issue(
        organization_id=actor.organization_id,
        name=args.name,
        permissions=args.permissions,
        created_by_id=_person(actor),
        expires_at=expires_at,
    )
    audit.describe(
        target=f"{key.name} ({key.prefix})",
        target_type="api_key",
        target_id=key.pk,
        permissions=key.permissions,
    )
    return ApiKeyCreatedOut(key=ApiKeyOut.model_validate(key), secret=secret)


def api_key_issue(
    *,
    organization_id: int,
    name: str,
    permissions: list[str],
    created_by_id: int,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Internal (no permission check): store a new key, return it and its secret."""
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization_id=organization_id,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw_key),
        permissions=sorted(set(permissions)),
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    return key, raw_key


@mutation(
    "api_keys.revoke",
    permission="api_keys.manage",
    output=ApiKeyOut,
    audit=AuditAction.API_KEY_REVOKE,
)
def api_key_revoke(*, actor: Actor, args: ApiKeyTarget) -> ApiKey:
    key = get_for_actor(ApiKey, args.key_id, actor, message="There is no such API key.")
    if key.revoked_at is not None:
        audit.unchanged()  # revoked already: a repeat changes nothing
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit.describe(target=f"{key.name} ({key.prefix})", target_type="api_key", target_id=key.pk)
    return key
