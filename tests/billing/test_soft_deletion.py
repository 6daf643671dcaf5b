"""An organization scheduled for deletion has its subscriptions cancelled at once, in the
scheduling's transaction (billing/receivers.py), against a fake Stripe at the HTTP
boundary; restoring it does not resume them."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from billing.models import PendingCancellation, PlanSubscription
from kernel.actor import System
from kernel.door import call
from kernel.permissions import Role
from organizations import deletion
from organizations.models import Organization
from tests.accounts.helpers import make_verified_user
from tests.billing.test_reconcile import FakeStripe, ours, reconciled, stripe  # noqa: F401
from tests.factories import MembershipFactory, OrganizationFactory
from tests.tasks import run_tasks

CANCEL_TASK = "billing.tasks.cancel_subscriptions"


def paying(stripe: FakeStripe) -> Organization:  # noqa: F811
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    stripe.add(org.pk)
    ours(org)
    run_tasks()  # the membership's seat push
    stripe.calls()
    return org


@pytest.mark.django_db(transaction=True)
def test_scheduling_the_deletion_cancels_the_subscription_at_once(stripe):  # noqa: F811
    org = paying(stripe)

    with transaction.atomic():
        deletion.schedule(Organization.objects.get(pk=org.pk), by="Deleted by a test")
        assert PendingCancellation.objects.get().organization_id == org.pk  # in it
        assert DBTaskResult.objects.filter(task_path=CANCEL_TASK).count() == 1
    assert stripe.calls() == []  # the provider is called by the task, after the commit

    run_tasks()

    assert ("DELETE", "/v1/subscriptions/sub_123") in stripe.calls()
    assert stripe.subscriptions["sub_123"]["status"] == "canceled"
    assert not PendingCancellation.objects.exists()
    reconciled()  # our copy follows the provider's (a webhook would do the same)
    assert PlanSubscription.objects.for_organization(org.pk).get().status == "canceled"
    stripe.calls()  # the reconciliation's read

    staff = make_verified_user("ops@example.com")
    staff.is_staff = True  # operators' functions require an active staff member
    staff.save(update_fields=["is_staff"])
    call(
        deletion.organization_restore_by_operator,
        System(label="operator ops@example.com", operator_id=staff.pk),
        {"organization_id": org.pk, "reason": "a mistake"},
    )
    run_tasks()
    assert stripe.calls() == []  # restoring resumes nothing: the owners choose a plan again
    assert stripe.subscriptions["sub_123"]["status"] == "canceled"


@pytest.mark.django_db(transaction=True)
def test_a_scheduling_rolled_back_cancels_nothing(stripe):  # noqa: F811
    org = paying(stripe)

    def schedule_then_fail() -> None:
        with transaction.atomic():
            deletion.schedule(Organization.objects.get(pk=org.pk), by="Deleted by a test")
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        schedule_then_fail()
    run_tasks()
    assert not PendingCancellation.objects.exists()
    assert stripe.calls() == []
    assert stripe.subscriptions["sub_123"]["status"] == "active"
    assert Organization.objects.get(pk=org.pk).status == "active"


@pytest.mark.django_db(transaction=True)
def test_the_purge_owes_nothing_more_once_the_scheduling_cancelled_it(stripe):  # noqa: F811
    org = paying(stripe)
    with transaction.atomic():
        deletion.schedule(Organization.objects.get(pk=org.pk), by="Deleted by a test")
    run_tasks()
    reconciled()
    stripe.calls()
    Organization.objects.filter(pk=org.pk).update(deletion_due_at="2000-01-01T00:00:00Z")

    assert deletion.purge(org.pk) is True
    run_tasks()

    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not PendingCancellation.objects.exists()
    assert stripe.calls() == []
