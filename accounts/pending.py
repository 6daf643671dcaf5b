"""The step-up the user is in the middle of, kept in the session between pages."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Final

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY: Final = "step_up_pending"
PENDING_SECONDS: Final = 10 * 60


@dataclass(frozen=True)
class PendingStepUp:
    action: str
    next_url: str
    organization_id: int | None
    started_at: float


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/account/"


def remember(request: HttpRequest, pending: PendingStepUp) -> None:
    request.session[SESSION_KEY] = asdict(pending)


def recall(request: HttpRequest) -> PendingStepUp | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    pending = PendingStepUp(**data)
    if time.time() - pending.started_at > PENDING_SECONDS:
        forget(request)
        return None
    return pending


def forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
