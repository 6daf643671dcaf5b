"""The registry of sensitive actions and the re-authentication each one needs.

    level 1  a fresh session: signed in within STEP_UP_FRESH_SESSION_SECONDS
    level 2  a fresh session, or any re-authentication within the grant window
    level 3  a step-up grant for this action: password, TOTP, passkey, or an emailed
             code (accounts without a password)
    level 4  as level 3, and the grant is spent by the action (single use)

API keys never satisfy any level. accounts/stepup.py enforces these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


class UnknownSensitiveActionError(LookupError):
    """A sensitive action name that is not registered: a bug, never a silent allow."""


@dataclass(frozen=True, slots=True)
class SensitiveAction:
    name: str
    level: int
    description: str
    organization_scoped: bool = False

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3, 4):
            raise ValueError(f"{self.name}: risk level must be 1 to 4")


def _registry(*actions: SensitiveAction) -> Mapping[str, SensitiveAction]:
    return MappingProxyType({action.name: action for action in actions})


SENSITIVE_ACTIONS: Final[Mapping[str, SensitiveAction]] = _registry(
    SensitiveAction("account.sign_out_sessions", 1, "sign out your other sessions"),
    SensitiveAction("api_keys.create", 2, "create an API key", organization_scoped=True),
    SensitiveAction("account.change_email", 3, "change your email address"),
    SensitiveAction("account.change_password", 3, "change your password"),
    SensitiveAction("mfa.remove_authenticator", 3, "remove a sign-in factor"),
    SensitiveAction("account.delete", 4, "delete your account"),
    SensitiveAction("organization.transfer", 3, "transfer ownership", organization_scoped=True),
    SensitiveAction("organization.delete", 4, "delete the organization", organization_scoped=True),
)


def get_sensitive_action(name: str) -> SensitiveAction:
    try:
        return SENSITIVE_ACTIONS[name]
    except KeyError:
        raise UnknownSensitiveActionError(
            f"Unknown sensitive action {name!r}: register it in kernel/sensitive.py."
        ) from None
