from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from kernel.permissions import CATALOGUE, Role, role_permissions
from organizations.api_keys import api_key_issue
from organizations.models import Organization
from workspace_records.models import WorkspaceRecord

RECORD_PERMISSIONS = [p for p in CATALOGUE if p.startswith("workspace.records.")]


def bearer(raw_key: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


@pytest.fixture
def make_key(org: Organization) -> Callable[..., str]:
    def make(
        role: Role = Role.OWNER,
        permissions: list[str] | None = None,
        organization: Organization | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        _key, raw = api_key_issue(
            organization_id=(organization or org).pk,
            name="test key",
            role=role,
            permissions=permissions if permissions is not None else role_permissions(role),
            created_by_id=None,
            expires_at=expires_at,
        )
        return raw

    return make


@pytest.fixture
def api() -> Client:
    """A client with no session: API-key calls only, and no CSRF."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def record(org: Organization) -> WorkspaceRecord:
    return WorkspaceRecord.objects.create(organization=org, title="First record")
