"""The audit log's retention: events older than AUDIT_RETENTION_DAYS are pruned by the
periodic prune, in batches, in every organization; 0 keeps everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kernel.actor import System
from kernel.prune import prune_all, prune_everything
from organizations.audit import AuditAction, audit
from organizations.models import AuditEvent
from organizations.prune import prune_audit_events
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def _aged(organization, days: float, count: int = 1) -> None:
    for _ in range(count):
        event = audit(
            organization_id=organization.pk, action=AuditAction.MEMBER_REMOVE, actor=System()
        )
        AuditEvent.objects.unscoped().filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(days=days)
        )


def _left(organization) -> int:
    return AuditEvent.objects.for_organization(organization.pk).count()


def test_events_older_than_the_retention_go_in_every_organization(settings, org, other_org):
    settings.AUDIT_RETENTION_DAYS = 30
    _aged(org, 31, count=3)
    _aged(org, 29)
    _aged(other_org, 45, count=2)
    _aged(other_org, 1)
    assert prune_all(batch=2)["audit events"] == 5
    assert (_left(org), _left(other_org)) == (1, 1)
    assert prune_audit_events(2) == 0


def test_it_deletes_in_batches(settings, org):
    settings.AUDIT_RETENTION_DAYS = 30
    _aged(org, 40, count=5)
    with CaptureQueriesContext(connection) as queries:
        assert prune_audit_events(2) == 5
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1


def test_zero_keeps_everything(settings, org):
    settings.AUDIT_RETENTION_DAYS = 0
    _aged(org, 10_000)
    assert prune_audit_events(100) == 0
    assert _left(org) == 1


def test_the_periodic_task_prunes_the_log(settings, org):
    settings.AUDIT_RETENTION_DAYS = 365
    _aged(org, 366, count=2)
    _aged(org, 364)
    prune_everything.enqueue()
    run_tasks()
    assert _left(org) == 1
