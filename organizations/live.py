"""Organization data as live queries."""

from __future__ import annotations

from typing import Any

from kernel.actor import Actor
from kernel.live.registry import live_query
from organizations import queries
from organizations.models import Membership


@live_query("members.list", reads=(Membership._meta.db_table,), varies_by="permissions")
def members_list(*, actor: Actor) -> Any:
    return [
        {"id": m.pk, "email": m.user.email, "role": m.role}
        for m in queries.member_list(actor=actor)
    ]
