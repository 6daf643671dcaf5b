"""`manage.py prune`: delete what is kept only for a while, in batches (kernel/prune.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kernel.prune import prune_all


class Command(BaseCommand):
    help = (
        "Delete old change records, expired idempotency records and sessions, finished "
        "task results and what the apps register (old webhook events), in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Rows per DELETE (PRUNE_BATCH_SIZE)."
        )

    def handle(self, *args: Any, batch_size: int | None = None, **options: Any) -> None:
        for what, count in prune_all(batch_size).items():
            self.stdout.write(f"{what}: {count} deleted")
