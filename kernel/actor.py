"""Who is calling: resolved once per request, API call or socket, then passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kernel.permissions import Role


class AuthMethod(StrEnum):
    SESSION = "session"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    """The signed-in user; None for an API key acting on its own."""
    organization_id: int
    role: Role
    capabilities: frozenset[str]
    """What the organization's plan grants (from billing)."""
    auth_method: AuthMethod = AuthMethod.SESSION
    permission_limit: frozenset[str] | None = None
    """An API key's subset of permissions; None means everything the role holds."""
    api_key_id: int | None = None

    @property
    def access(self) -> tuple[int, Role, frozenset[str] | None, frozenset[str]]:
        """What decides this actor's permissions: two actors with equal `access` may see
        and do the same things (though not as the same user)."""
        return (self.organization_id, self.role, self.permission_limit, self.capabilities)
