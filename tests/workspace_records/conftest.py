from __future__ import annotations

import pytest

from organizations.models import Organization
from workspace_records.models import WorkspaceRecord

# `api`, `make_key`, `bearer` and the organization fixtures live in tests/conftest.py.


@pytest.fixture
def record(org: Organization) -> WorkspaceRecord:
    return WorkspaceRecord.objects.create(organization=org, title="First record")
