"""What the socket tests share: a same-origin browser handshake and a live API key."""

from __future__ import annotations

from collections.abc import Sequence

from kernel.permissions import Role
from organizations.mutations import api_key_issue
from tests.factories import MembershipFactory

ORIGIN = (b"origin", b"http://localhost:8000")
HOST = (b"host", b"localhost:8000")
"""With ORIGIN, the headers of a page of the site opening /ws/."""


def key_for(
    organization_id: int,
    role: Role = Role.MEMBER,
    permissions: Sequence[str] = ("notes.read", "notes.write"),
) -> str:
    """A raw API key whose creator is a new member with `role`."""
    creator = MembershipFactory(organization_id=organization_id, role=role)
    _key, raw = api_key_issue(
        organization_id=organization_id,
        name="live",
        permissions=list(permissions),
        created_by_id=creator.user_id,
    )
    return raw
