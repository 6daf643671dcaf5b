"""The security page's "Operator access" panel: every time an operator viewed as you."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import ImpersonationSession

register = template.Library()

SHOWN = 20


@register.inclusion_tag("accounts/impersonation_history.html", takes_context=True)
def operator_access(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    sessions = (
        ImpersonationSession.objects.filter(user_id=user.pk).order_by("-started_at")[:SHOWN]
        if user.is_authenticated
        else []
    )
    return {"sessions": list(sessions)}
