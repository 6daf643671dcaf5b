"""An organization's security policies, set by its owners (step-up level 2) and enforced
for every transport: two-factor and the API key network by the resolver
(kernel/admission.py), invitation domains and key lifetimes by the mutations that take
them (organizations/mutations.py), automatic membership on a verified address here.

    require_two_factor     members without two-factor are sent to set it up first
    allowed_email_domains  invitations only to these domains (empty: any)
    auto_join              a person who verifies an address at an allowed domain joins
    auto_join_role         ... with this role (never owner)
    max_api_key_days       new keys must expire within this many days (empty: no limit)
    api_key_networks       API keys work only from these CIDR networks (empty: anywhere)
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Annotated, Any, Final

from django.utils.translation import gettext as _
from pydantic import BeforeValidator, Field, field_validator, model_validator

from accounts.models import User
from kernel import audit, errors
from kernel.actor import Actor, System
from kernel.functions import mutation, query
from kernel.inputs import Input
from kernel.limits import require_within_limit
from kernel.permissions import Role
from organizations.audit import AuditAction
from organizations.models import Membership, Organization
from organizations.queries import seats_used
from organizations.schemas import Output

logger = logging.getLogger(__name__)

SEATS: Final = "organization.members"
_DOMAIN: Final = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_ENTRIES: Final = 50


def _entries(value: Any) -> Any:
    """A list, or text with one entry per line or comma (the form's textarea)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [
            part
            for item in value
            if isinstance(item, str)
            for part in re.split(r"[\s,]+", item)
            if part
        ]
    return value


Entries = Annotated[list[str], BeforeValidator(_entries), Field(max_length=MAX_ENTRIES)]


class Policies(Output):
    require_two_factor: bool
    allowed_email_domains: list[str]
    auto_join: bool
    auto_join_role: Role
    max_api_key_days: int | None
    api_key_networks: list[str]


class PoliciesUpdate(Input):
    require_two_factor: bool = False
    allowed_email_domains: Entries = Field(
        default_factory=list, description="Invitations only to these domains; empty: any"
    )
    auto_join: bool = False
    auto_join_role: Role = Role.MEMBER
    max_api_key_days: int | None = Field(default=None, ge=1, le=3650)
    api_key_networks: Entries = Field(
        default_factory=list, description="CIDR networks API keys may be used from; empty: anywhere"
    )

    @field_validator("allowed_email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        found = [domain.lower().lstrip("@").rstrip(".") for domain in value]
        wrong = [domain for domain in found if not _DOMAIN.match(domain)]
        if wrong:
            raise ValueError(_("Not a domain name: %(domains)s.") % {"domains": ", ".join(wrong)})
        return sorted(set(found))

    @field_validator("api_key_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        networks, wrong = [], []
        for entry in value:
            try:
                networks.append(str(ipaddress.ip_network(entry, strict=False)))
            except ValueError:
                wrong.append(entry)
        if wrong:
            raise ValueError(
                _("Not an IP network (CIDR, e.g. 203.0.113.0/24): %(networks)s.")
                % {"networks": ", ".join(wrong)}
            )
        return sorted(set(networks))

    @field_validator("auto_join_role")
    @classmethod
    def _not_owner(cls, value: Role) -> Role:
        if value == Role.OWNER:
            raise ValueError(_("People who join on their own cannot be owners."))
        return value

    @model_validator(mode="after")
    def _auto_join_needs_a_domain(self) -> PoliciesUpdate:
        if self.auto_join and not self.allowed_email_domains:
            raise ValueError(_("Automatic membership needs at least one allowed email domain."))
        return self


FIELDS: Final = tuple(Policies.model_fields)


def _policies(organization: Organization) -> Policies:
    return Policies.model_validate(
        {name: getattr(organization, name) for name in FIELDS}, from_attributes=False
    )


@query("organization.policies", permission="organization.read", output=Policies)
def policies_get(*, actor: Actor) -> Policies:
    """Every member may read the rules they are held to."""
    return _policies(Organization.objects.get(pk=actor.organization_id))


@mutation(
    "organization.policies_update",
    permission="organization.policies",
    step_up="organization.policies",
    output=Policies,
    audit=AuditAction.ORGANIZATION_POLICY_UPDATE,
)
def policies_update(*, actor: Actor, args: PoliciesUpdate) -> Policies:
    """Owners; step-up level 2. The audit row lists what changed, before and after."""
    organization = Organization.objects.get(pk=actor.organization_id)
    before = _policies(organization).model_dump(mode="json")
    after = args.model_dump(mode="json")
    changes = {name: [before[name], after[name]] for name in FIELDS if before[name] != after[name]}
    for name in FIELDS:
        setattr(organization, name, getattr(args, name))
    organization.save(update_fields=list(FIELDS))
    audit.describe(
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        changed=", ".join(name.replace("_", " ") for name in changes) or "nothing",
        changes=changes,
    )
    return _policies(organization)


# --- enforced by the mutations that take the input -------------------------------------------


def require_allowed_domain(organization_id: int, email: str) -> None:
    """An invitation outside the organization's allowed domains is a field error."""
    allowed = Organization.objects.values_list("allowed_email_domains", flat=True).get(
        pk=organization_id
    )
    domain = email.rpartition("@")[2].lower()
    if allowed and domain not in allowed:
        raise errors.invalid_input(
            fields={
                "email": [
                    _("This organization only invites addresses at %(domains)s.")
                    % {"domains": ", ".join(allowed)}
                ]
            }
        )


def require_key_lifetime(organization_id: int, days: int) -> None:
    """`days` 0 means never expires."""
    limit = Organization.objects.values_list("max_api_key_days", flat=True).get(pk=organization_id)
    if limit is not None and (days == 0 or days > limit):
        raise errors.invalid_input(
            fields={
                "expires_in_days": [
                    _("Keys here must expire within %(limit)s days.") % {"limit": limit}
                ]
            }
        )


# --- automatic membership ---------------------------------------------------------------------


class AutoJoin(Input):
    user_id: int
    organization_id: int


def auto_join_candidates(email: str, user_id: int) -> list[int]:
    """The active organizations that admit a verified `email` and do not have its person."""
    domain = email.rpartition("@")[2].lower()
    return list(
        Organization.objects.filter(
            auto_join=True, status="active", allowed_email_domains__contains=[domain]
        )
        .exclude(memberships__user_id=user_id)
        .values_list("pk", flat=True)
    )


@mutation(
    "organizations.auto_join",
    internal=True,
    output=bool,
    audit=AuditAction.MEMBER_ADD,
)
def auto_join(*, actor: System, args: AutoJoin) -> bool:
    """A person who verified an address at an allowed domain joins, with the
    organization's role, within its seat limit (a full organization is skipped, logged)."""
    from kernel.actors import actor_for
    from kernel.sources import MembershipRecord

    organization = Organization.objects.get(pk=args.organization_id)
    user = User.objects.get(pk=args.user_id)
    owner = Membership.objects.for_organization(organization.pk).filter(role=Role.OWNER).first()
    if (
        owner is None
        or Membership.objects.for_organization(organization.pk).filter(user=user).exists()
    ):
        audit.unchanged()
        return False
    as_owner = actor_for(MembershipRecord(owner.user_id, organization.pk, Role.OWNER))
    try:
        require_within_limit(as_owner, SEATS, used=seats_used(organization.pk))
    except errors.AppError:
        logger.warning("Automatic membership skipped: organization %s is full", organization.pk)
        audit.unchanged()
        return False
    membership = Membership.objects.create(
        organization=organization, user=user, role=organization.auto_join_role
    )
    audit.describe(
        organization_id=organization.pk,
        target=user.email,
        target_type="member",
        target_id=membership.pk,
        role=organization.auto_join_role,
    )
    return True
