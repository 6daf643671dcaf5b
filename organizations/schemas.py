"""Inputs and outputs of the organizations domain's functions: one model per function,
used by its pages, its API operations and the socket alike."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from kernel.inputs import Email, Input, Name
from kernel.manifest import audit_label
from kernel.outcomes import Outcome
from kernel.permissions import Role

NAME_MIN, NAME_MAX = 2, 64
OrganizationName = Annotated[str, Name(min_length=NAME_MIN, max_length=NAME_MAX)]
KEY_NAME_MAX = 64
AUDIT_PAGE_SIZE, AUDIT_PAGE_MAX = 50, 500


class Output(BaseModel):
    """Outputs read model instances by attribute."""

    model_config = ConfigDict(from_attributes=True)


# --- outputs ----------------------------------------------------------------------------------


class UserOut(Output):
    id: int
    email: str
    name: str = Field(description="The display name, else the email address")
    initials: str
    avatar_url: str | None


class OrganizationOut(Output):
    id: int
    name: str
    slug: str


class MyOrganizationOut(Output):
    organization: OrganizationOut
    role: Role


class ActorContextOut(Output):
    user: UserOut | None
    organization: OrganizationOut
    role: Role
    permissions: list[str]
    auth_method: str


class MemberOut(Output):
    id: int
    organization_id: int
    user: UserOut
    role: Role
    created_at: datetime


class InvitationOut(Output):
    id: int
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class AuditEventOut(Output):
    id: int
    actor_label: str
    actor_name: str = Field(description="The actor's display name now, else the label")
    action: str
    summary: str = Field(description="What happened in words, after the actor's name")
    target: str
    target_type: str
    target_id: str
    operator_label: str = Field(description="The operator behind it (impersonation, admin)")
    api_key_id: int | None = Field(description="The API key that acted")
    permission: str = Field(description="A refused call: the permission it needed")
    result: str
    reason: str = Field(
        validation_alias="why",
        description="Why a refused or failed attempt did not happen (older rows: 'Refused.')",
    )
    created_at: datetime
    detail: dict[str, object]


class AuditPageOut(Output):
    events: list[AuditEventOut]
    next_before: int | None = Field(description="Pass as `before` for older events")


class ApiKeyOut(Output):
    id: int
    name: str
    prefix: str
    permissions: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    creator_is_member: bool = True
    """False once the person who created it left: the key no longer works."""


class ApiKeyCreatedOut(Output):
    key: ApiKeyOut
    secret: str = Field(description="The key itself: shown this once, never stored")


# --- inputs -----------------------------------------------------------------------------------


class OrganizationCreate(Input):
    name: OrganizationName


class OrganizationRename(Input):
    name: OrganizationName


class OrganizationDelete(Input):
    confirm_name: str = Field(description="The organization's name, typed to confirm")


class Transfer(Input):
    membership_id: int


class MemberTarget(Input):
    membership_id: int


class MemberRole(Input):
    membership_id: int
    role: Role


class InvitationCreate(Input):
    email: Email
    role: Role = Role.MEMBER


class InvitationTarget(Input):
    invitation_id: int


class InvitationToken(Input):
    token: str = Field(max_length=200)


def _known_action(action: str | None) -> str | None:
    if action and audit_label(action) is None:
        raise ValueError(_("Choose an action from the list."))
    return action or None


class AuditFilters(Input):
    """The audit log's filters, the same for the page, its CSV and the API. Dates are
    whole days in the reader's time zone (the API's: UTC), both ends included."""

    actor: str | None = Field(
        None,
        max_length=254,
        title=gettext_noop("Who"),
        description="Part of who acted: an email, a name, an API key, Stripe",
    )
    action: Annotated[str | None, AfterValidator(_known_action)] = Field(
        None,
        max_length=64,
        title=gettext_noop("Action"),
        description="An action code, such as member.remove",
    )
    target: str | None = Field(
        None,
        max_length=254,
        title=gettext_noop("About"),
        description="Part of what it was about: an email, a record",
    )
    target_type: str | None = Field(None, max_length=64, description="member, api_key, record…")
    target_id: str | None = Field(None, max_length=64, description="With target_type: one object")
    result: Outcome | None = Field(None, title=gettext_noop("Result"))
    since: date | None = Field(None, title=gettext_noop("From"), description="From this day on")
    until: date | None = Field(
        None, title=gettext_noop("To"), description="Up to and including this day"
    )
    before: int | None = Field(None, ge=1, description="An event id: older events only")
    limit: int = Field(AUDIT_PAGE_SIZE, ge=1, le=AUDIT_PAGE_MAX, description="Events per page")

    @field_validator("until")
    @classmethod
    def _not_before_since(cls, until: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if since and until and until < since:
            raise ValueError(_("Choose an end on or after the start."))
        return until


class KeyLifetime(models.IntegerChoices):
    NEVER = 0, "Never"
    MONTH = 30, gettext_lazy("In 30 days")
    QUARTER = 90, gettext_lazy("In 90 days")
    YEAR = 365, gettext_lazy("In a year")


class ApiKeyCreate(Input):
    name: Annotated[str, Name(max_length=KEY_NAME_MAX)]
    permissions: list[str] = Field(
        default_factory=list,
        min_length=1,
        validate_default=True,  # none ticked is "choose at least one", not a key without any
        description="A subset of the creator's",
    )
    expires_in_days: KeyLifetime = KeyLifetime.QUARTER


class ApiKeyTarget(Input):
    key_id: int


class OperatorMembership(Input):
    membership_id: int | None = None
    """None: a new membership of `user_id` in `organization_id`."""
    organization_id: int
    user_id: int
    role: Role


class OperatorRemoval(Input):
    membership_id: int
