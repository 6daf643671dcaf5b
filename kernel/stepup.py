"""Step-up: the re-authentication a sensitive action needs (levels in kernel/sensitive.py).

    level 1  signed in within STEP_UP_FRESH_SESSION_SECONDS
    level 2  level 1, or any re-authentication within STEP_UP_GRANT_SECONDS, or a grant
    level 3  a grant for this action (and organization), minted by a re-authentication
    level 4  as level 3, and the action spends the grant

It needs only the principal: the Actor carries its authentication context (the session,
when it signed in and re-authenticated), and grants are kept by the registered step-up
source (accounts). So the same check holds on a page, over the socket and in a job. API
keys and jobs never pass.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.translation import gettext as _

from kernel import errors
from kernel.actor import Actor, AuthMethod, Person, Principal
from kernel.sensitive import SensitiveAction, get_sensitive_action
from kernel.sources import sources


def _refusal(principal: Principal, action: SensitiveAction) -> str | None:
    """Why this principal can never confirm it is them, if that is so."""
    if isinstance(principal, Actor | Person):
        if principal.auth.method == AuthMethod.API_KEY:
            return _("API keys cannot perform this action; use the web app.")
        if principal.auth.method == AuthMethod.TASK:
            return _("Background jobs cannot perform this action.")
        return None
    return _("Only a signed-in person can do this.")


def _recent(moment: float | None, window_seconds: int) -> bool:
    return moment is not None and time.time() - moment < window_seconds


def satisfied(principal: Principal, action_name: str, *, consume: bool = False) -> bool:
    """Whether the principal may perform the action now; `consume` spends a level-4 grant."""
    action = get_sensitive_action(action_name)
    if _refusal(principal, action) is not None:
        return False
    assert isinstance(principal, Actor | Person)
    auth = principal.auth
    fresh = _recent(auth.signed_in_at, settings.STEP_UP_FRESH_SESSION_SECONDS)
    if action.level == 1 and fresh:
        return True
    if action.level == 2 and (
        fresh or _recent(auth.reauthenticated_at, settings.STEP_UP_GRANT_SECONDS)
    ):
        return True
    source = sources().step_up
    user_id = principal.user_id
    if source is None or auth.session_key_hash is None or user_id is None:
        return False
    organization_id = (
        principal.organization_id
        if action.organization_scoped and isinstance(principal, Actor)
        else None
    )
    check = source.spend_grant if action.level == 4 and consume else source.has_grant
    return check(
        user_id=user_id,
        session_key_hash=auth.session_key_hash,
        action=action.name,
        organization_id=organization_id,
    )


def require_step_up(principal: Principal, action_name: str, *, consume: bool = True) -> None:
    """Raise `step_up_required` unless the principal satisfies the action's level. Inside a
    mutation, a level-4 grant is spent with the mutation's commit (and kept if it fails)."""
    action = get_sensitive_action(action_name)
    refusal = _refusal(principal, action)
    if refusal is not None:
        raise errors.step_up_required(refusal, action=action.name)
    if not satisfied(principal, action_name, consume=consume):
        raise errors.step_up_required(
            _("Confirm it is you to %(action)s.") % {"action": action.description},
            action=action.name,
        )


def step_up_url(action_name: str, next_url: str) -> str | None:
    """The page that confirms the action, then returns to `next_url`."""
    source = sources().step_up
    return source.page_url(action_name, next_url) if source is not None else None
