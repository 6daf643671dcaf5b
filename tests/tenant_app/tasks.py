"""Tasks for the task queue's own tests (tests/kernel/test_tasks.py)."""

from __future__ import annotations

import time
from pathlib import Path

from kernel.tasks import durable


@durable(max_attempts=3, first_delay=0.01)
def crash_once(folder: str) -> None:
    """The first attempt marks that it started and then hangs (the test kills its worker);
    a later attempt finishes at once."""
    started, done = Path(folder) / "started", Path(folder) / "done"
    if not started.exists():
        started.write_text("1")
        time.sleep(120)
    done.write_text(str(int(done.read_text()) + 1) if done.exists() else "1")


@durable(max_attempts=2, first_delay=0.01)
def always_fails() -> None:
    raise RuntimeError("the provider is down")


@durable(max_attempts=4)
def tick() -> None:
    """Does nothing: a periodic task to schedule."""
