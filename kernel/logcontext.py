"""What every log line (and error report) says about the work it belongs to.

    with log_context(task="send_invitation", task_id=result.id):
        ...                        # every line logged here carries task and task_id

The request middleware (config/middleware.py) opens one per request with its request id,
user id and organization id; the worker opens one per task. Values may be callables,
called when a line is written: a request learns who is calling only once its view has
resolved the caller, and a line logged before then says nothing rather than querying.
config/logging.py puts the fields on each record; config/sentry.py tags error events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

Field = str | int | None
Fields = Mapping[str, Field | Callable[[], Field]]

_context: ContextVar[Fields] = ContextVar("log_context", default={})  # noqa: B039  # never mutated


@contextmanager
def log_context(**fields: Field | Callable[[], Field]) -> Iterator[None]:
    """Add `fields` to every line logged inside the block (nested blocks add to it)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_fields() -> dict[str, Field]:
    """The fields in effect, callables called; those without a value left out."""
    found: dict[str, Field] = {}
    for name, value in _context.get().items():
        if callable(value):
            try:
                value = value()
            except Exception:  # a log line must never fail because of its context
                value = None
        if value is not None:
            found[name] = value
    return found
