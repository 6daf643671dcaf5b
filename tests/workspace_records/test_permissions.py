"""The demo's rows of the permission catalogue, written out by hand (as the platform's are
in tests/kernel/test_permissions.py): who may do what with records changes here, on
purpose."""

from __future__ import annotations

from kernel.manifest import DOMAINS
from kernel.permissions import CATALOGUE, Role

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER

EXPECTED = {
    "workspace.records.read": {O, A, M, V},
    "workspace.records.create": {O, A, M},
    "workspace.records.update": {O, A, M},
    "workspace.records.delete": {O, A},
}


def test_the_demo_declares_exactly_these_permissions():
    (demo,) = [d for d in DOMAINS if d.label == "workspace_records"]
    assert {p.name: set(p.roles) for p in demo.permissions} == EXPECTED
    assert all(CATALOGUE[name].roles == roles for name, roles in EXPECTED.items())
