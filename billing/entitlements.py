"""What an organization's plan grants. Until plans and grants exist, the free defaults."""

from __future__ import annotations

from kernel.permissions import FREE_CAPABILITIES


def organization_capabilities(organization_id: int) -> frozenset[str]:
    return FREE_CAPABILITIES
