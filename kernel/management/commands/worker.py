"""`manage.py worker`: run the task queue (kernel/worker.py, docs/operations.md)."""

from __future__ import annotations

import logging
import os
from argparse import BooleanOptionalAction
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.autoreload import run_with_reloader
from django.utils.crypto import get_random_string

from kernel.manifest import periodic_tasks
from kernel.worker import ServingWorker


class Command(BaseCommand):
    help = "Run queued tasks (email, provider calls, pruning) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queues", default="*", help="Comma-separated queue names, or * for all (default)."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.TASK_WORKER_INTERVAL_MS / 1000,
            help="Seconds to wait when the queue is empty (TASK_WORKER_INTERVAL_MS / 1000).",
        )
        parser.add_argument("--batch", action="store_true", help="Run what is ready, then exit.")
        parser.add_argument(
            "--reload",
            action=BooleanOptionalAction,
            default=False,
            help="Restart on code changes (development).",
        )
        parser.add_argument(
            "--worker-id", default=None, help="Unique per worker (default: random)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("kernel.tasks").setLevel(logging.INFO)
        worker_id = options["worker_id"] or f"{os.uname().nodename[:40]}-{get_random_string(12)}"

        def serve() -> None:
            worker = ServingWorker(
                periodic=periodic_tasks(),
                recover_every=timedelta(seconds=settings.TASK_RECOVER_SECONDS),
                queue_names=options["queues"].split(","),
                interval=options["interval"],
                batch=options["batch"],
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            )
            worker.configure_signals()
            self.stdout.write(f"Worker {worker_id} running queues {options['queues']}.")
            worker.run()

        # The reloader's child runs serve(); its parent only watches files.
        if options["reload"]:
            run_with_reloader(serve)
        else:
            serve()
