from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import EmailStr

from kernel.permissions import Role
from organizations.validation import OrganizationName


class UserOut(Schema):
    id: int
    email: str
    name: str


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str


class MyOrganizationOut(Schema):
    organization: OrganizationOut
    role: Role


class ActorContextOut(Schema):
    user: UserOut | None
    organization: OrganizationOut
    role: str
    permissions: list[str]
    auth_method: str


class OrganizationIn(Schema):
    name: OrganizationName


class OrganizationDeleteIn(Schema):
    confirm_name: str


class TransferIn(Schema):
    membership_id: int


class MemberOut(Schema):
    id: int
    user: UserOut
    role: Role
    created_at: datetime


class MemberRoleIn(Schema):
    role: Role


class InvitationIn(Schema):
    email: EmailStr
    role: Role = Role.MEMBER


class InvitationOut(Schema):
    id: int
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class TokenIn(Schema):
    token: str


class AuditEventOut(Schema):
    id: int
    actor_label: str
    action: str
    target: str
    result: str
    created_at: datetime
    detail: dict[str, object]


class AuditPageOut(Schema):
    events: list[AuditEventOut]
    next_before: int | None
