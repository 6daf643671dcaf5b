from __future__ import annotations

from ninja import Schema


class UserOut(Schema):
    id: int
    email: str
    name: str


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str


class ActorContextOut(Schema):
    user: UserOut | None
    organization: OrganizationOut
    role: str
    permissions: list[str]
    auth_method: str
