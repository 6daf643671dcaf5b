"""Reads of the organizations domain, registered with the kernel. Each reads the actor's
organization only (or, for personal ones, the person's own memberships)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from kernel.actor import Actor, AuthMethod, Person
from kernel.functions import query
from kernel.permissions import CATALOGUE, ROLE_RANK, Role, role_permissions
from organizations.models import ApiKey, AuditEvent, Invitation, Membership, Organization
from organizations.schemas import (
    ActorContextOut,
    ApiKeyOut,
    AuditFilters,
    AuditPageOut,
    InvitationOut,
    MemberOut,
    MyOrganizationOut,
    OrganizationOut,
)


@dataclass(frozen=True)
class ActorContext:
    user: User | None
    organization: Organization
    role: Role
    permissions: list[str]
    auth_method: AuthMethod


@query("me.get", permission="organization.read", output=ActorContextOut)
def actor_context_get(*, actor: Actor) -> ActorContext:
    """Who the actor is, where, and what they may do (an API key: its scopes within its
    creator's current role). Tenancy: the actor's own organization only."""
    organization = Organization.objects.get(pk=actor.organization_id)
    user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    permissions = role_permissions(actor.role)
    if actor.scopes is not None:
        permissions = [p for p in permissions if p in actor.scopes]
    return ActorContext(user, organization, actor.role, permissions, actor.auth_method)


@query("organization.get", permission="organization.read", output=OrganizationOut)
def organization_get(*, actor: Actor) -> Organization:
    return Organization.objects.get(pk=actor.organization_id)


@dataclass(frozen=True)
class MyOrganization:
    organization: Organization
    role: Role


@query("organizations.mine", personal=True, output=list[MyOrganizationOut])
def organizations_of_user(*, actor: Person) -> list[MyOrganization]:
    """The organizations the signed-in person belongs to, by name."""
    return my_organizations(actor.user_id)


def my_organizations(user_id: int) -> list[MyOrganization]:
    """Internal: a user's own memberships (keyed by the user, never another's)."""
    memberships = (
        Membership.objects.unscoped()
        .filter(user_id=user_id)
        .select_related("organization")
        .order_by("organization__name")
    )
    return [MyOrganization(m.organization, Role(m.role)) for m in memberships]


def members_of(organization_id: int) -> list[Membership]:
    """Internal: owners first, then by email."""
    members = Membership.objects.for_organization(organization_id).select_related("user")
    return sorted(members, key=lambda m: (-ROLE_RANK[Role(m.role)], m.user.email))


@query(
    "members.list",
    permission="member.read",
    output=list[MemberOut],
    live=True,
    varies_by="permissions",
)
def member_list(*, actor: Actor) -> list[Membership]:
    """Owners first, then by email."""
    return members_of(actor.organization_id)


def seats_used(organization_id: int) -> int:
    """Internal: what the member limit counts: members plus pending invitations that have
    not expired."""
    return (
        Membership.objects.for_organization(organization_id).count()
        + pending_invitations(organization_id).filter(expires_at__gt=timezone.now()).count()
    )


def pending_invitations(organization_id: int) -> QuerySet[Invitation]:
    return Invitation.objects.for_organization(organization_id).filter(
        accepted_at=None, declined_at=None, revoked_at=None
    )


@query("invitations.list", permission="invitation.read", output=list[InvitationOut])
def invitation_list(*, actor: Actor) -> QuerySet[Invitation]:
    """Pending invitations, newest first."""
    return (
        pending_invitations(actor.organization_id)
        .select_related("invited_by")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_before: int | None


@query("audit.list", permission="audit.read", output=AuditPageOut)
def audit_list(*, actor: Actor, args: AuditFilters) -> AuditPage:
    """The actor's organization's log, newest first, filtered; `limit` a page (50 by
    default), `before` the cursor (an event id). Text filters match part of the words
    (case ignored); dates are whole days in the current time zone, both included."""
    events = AuditEvent.objects.for_actor(actor).select_related("actor").order_by("-id")
    events = _audit_filtered(events, args)
    if args.before is not None:
        events = events.filter(id__lt=args.before)
    page = list(events[: args.limit + 1])
    more = len(page) > args.limit
    page = page[: args.limit]
    name_targets(actor.organization_id, page)
    return AuditPage(page, page[-1].pk if more and page else None)


def _audit_filtered(events: QuerySet[AuditEvent], args: AuditFilters) -> QuerySet[AuditEvent]:
    if args.actor:
        events = events.filter(
            Q(actor_label__icontains=args.actor)
            | Q(actor__display_name__icontains=args.actor)
            | Q(operator_label__icontains=args.actor)
        )
    if args.action:
        events = events.filter(action=args.action)
    if args.target:
        events = events.filter(target__icontains=args.target)
    if args.target_type:
        events = events.filter(target_type=args.target_type)
    if args.target_id:
        events = events.filter(target_id=args.target_id)
    if args.result:
        events = events.filter(result=args.result)
    if args.since:
        events = events.filter(created_at__gte=_day_start(args.since))
    if args.until:
        events = events.filter(created_at__lt=_day_start(args.until + timedelta(days=1)))
    return events


def _day_start(day: date) -> datetime:
    """Midnight of `day` where the reader is (their time zone; UTC by default)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def name_targets(organization_id: int, events: list[AuditEvent]) -> None:
    """A target that is a current member's address reads as their name ("removed Bob");
    anyone else's (an invitee, a former member) stays the address recorded then."""
    addresses = {event.target for event in events if "@" in event.target}
    members = Membership.objects.for_organization(organization_id).filter(user__email__in=addresses)
    names = {m.user.email: m.user.name for m in members.select_related("user")}
    for event in events:
        event.target_name = names.get(event.target, event.target)


@query("api_keys.list", permission="api_keys.manage", output=list[ApiKeyOut])
def api_key_list(*, actor: Actor) -> list[ApiKey]:
    """Newest first, revoked ones included; each says whether its creator is still a
    member (if not, the key no longer works)."""
    members = set(Membership.objects.for_actor(actor).values_list("user_id", flat=True))
    keys = list(ApiKey.objects.for_actor(actor).order_by("-created_at"))
    for key in keys:
        key.creator_is_member = key.created_by_id in members  # type: ignore[attr-defined]
    return keys


def permission_matrix() -> list[tuple[str, str, list[bool]]]:
    """(permission, description, [held by owner, admin, member, viewer]) from the catalogue."""
    roles = list(Role)
    return [
        (name, str(entry.description), [role in entry.roles for role in roles])
        for name, entry in CATALOGUE.items()
    ]


def organizations_blocking_deletion(user_id: int) -> list[Organization]:
    """Internal: organizations where the user is the only owner and others are members."""
    owned = Membership.objects.unscoped().filter(user_id=user_id, role=Role.OWNER)  # their own
    return list(
        Organization.objects.filter(pk__in=owned.values("organization_id"))
        .annotate(
            owners=Count("memberships", filter=Q(memberships__role=Role.OWNER)),
            members=Count("memberships"),
        )
        .filter(owners=1, members__gt=1)
        .order_by("name")
    )


def solo_organizations(user_id: int) -> list[int]:
    """Internal: the organizations only this user belongs to."""
    solo = Organization.objects.annotate(members=Count("memberships")).filter(
        members=1, memberships__user_id=user_id
    )
    return list(solo.values_list("pk", flat=True))
