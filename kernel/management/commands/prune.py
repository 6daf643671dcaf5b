"""`manage.py prune`: delete what the kernel keeps only for a while."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kernel import idempotency
from kernel.change_capture import prune_changes


class Command(BaseCommand):
    help = "Delete expired idempotency records and change records older than an hour."

    def handle(self, *args: Any, **options: Any) -> None:
        records = idempotency.prune()
        changes = prune_changes()
        self.stdout.write(f"Deleted {records} idempotency records and {changes} change records.")
