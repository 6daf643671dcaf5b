"""Account security events. The organization audit log (organizations issue) will read
these too; until then they are visible to operators in the admin."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import SecurityEvent, User
from kernel.client_ip import client_ip
from kernel.outcomes import Outcome


def record_security_event(
    *,
    request: HttpRequest | None,
    user: User | None,
    kind: str,
    result: Outcome,
    ip_address: str | None = None,
    **detail: Any,
) -> SecurityEvent:
    """`ip_address`: where it came from, when there is no request (a function has only
    the actor's authentication context)."""
    return SecurityEvent.objects.create(
        user=user,
        user_email=user.email if user is not None else "",
        kind=kind,
        result=result,
        ip_address=(client_ip(request) if request is not None else None) or ip_address,
        user_agent=(request.headers.get("User-Agent", "") if request else "")[:300],
        detail=detail,
    )
