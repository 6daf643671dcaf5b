"""`manage.py billing_reconcile`: compare every subscription with its provider and repair
drift; retry deleted organizations' cancellations (billing/reconcile.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.reconcile import reconcile
from billing.schemas import ReconcileReport
from kernel.actor import System
from kernel.door import call

OPERATOR = System("manage.py billing_reconcile")


class Command(BaseCommand):
    help = (
        "Compare each subscription that has not ended with its provider, repair drift "
        "(seats follow membership), and retry deleted organizations' cancellations."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report: ReconcileReport = call(reconcile, OPERATOR)
        self.stdout.write(f"Checked {report.checked} subscription(s).")
        for line in report.repaired:
            self.stdout.write(f"Repaired {line}")
        for line in report.seats_pushed:
            self.stdout.write(f"Seats set {line}")
        self.stdout.write(
            f"Cancellations of deleted organizations: {report.cancellations_confirmed} "
            f"confirmed, {report.cancellations_pending} still pending."
        )
        for line in report.failed:
            self.stderr.write(f"Failed {line}")
        if report.failed or report.cancellations_pending:
            raise CommandError("Some subscriptions could not be reconciled: run it again later.")
