"""The registry of sensitive actions and the re-authentication each one needs.

    level 1  a fresh session: signed in within STEP_UP_FRESH_SESSION_SECONDS
    level 2  a fresh session, or any re-authentication within the grant window
    level 3  a step-up grant for this action: password, TOTP, passkey, or an emailed
             code (accounts without a password)
    level 4  as level 3, and the grant is spent by the action (single use)

API keys never satisfy any level. Apps declare their sensitive actions in their domain
manifests; kernel/stepup.py enforces the levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from kernel.registry import Registry

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class UnknownSensitiveActionError(LookupError):
    """A sensitive action name that is not registered: a bug, never a silent allow."""


@dataclass(frozen=True, slots=True)
class SensitiveAction:
    name: str
    level: int
    description: StrOrPromise
    organization_scoped: bool = False

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3, 4):
            raise ValueError(f"{self.name}: risk level must be 1 to 4")


SENSITIVE_ACTIONS: Final = Registry[SensitiveAction]("sensitive action")
"""Filled from the apps' domain manifests at start-up (kernel/manifest.py), then frozen."""


def get_sensitive_action(name: str) -> SensitiveAction:
    try:
        return SENSITIVE_ACTIONS[name]
    except KeyError:
        raise UnknownSensitiveActionError(
            f"Unknown sensitive action {name!r}: declare it in its app's domain.py."
        ) from None
