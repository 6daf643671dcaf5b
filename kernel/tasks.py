"""Durable tasks: side effects that survive crashes, on Django's task framework.

    @durable(max_attempts=8)
    def send_invitation(invitation_id: int) -> None: ...

    send_invitation.enqueue(invitation.pk)   # in the transaction of the change

A task is a row of django-tasks-db's table (`django_tasks_db.DBTaskResult`), written by
the transaction that enqueues it: commit ⇔ enqueued. `manage.py worker`
(kernel/worker.py) runs the rows, retrying a failure with exponential backoff until
`max_attempts`, then failing it for good, loudly. A task may therefore run more than once
(a retry after a failure, or after its worker died mid-run): a task re-reads the state it
acts on and does nothing when there is nothing left to do.

Periodic tasks are declared in a manifest: `Domain(..., periodic=[Periodic(prune,
every=timedelta(hours=1))])`. docs/operations.md says how to run and watch the queue.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.tasks import Task, task

DEFAULT_MAX_ATTEMPTS: Final = 8


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    first_delay: float = 10.0
    """Seconds before the second attempt; each later one waits twice as long."""
    max_delay: float = 3600.0
    forget_arguments: bool = False
    """Blank the stored arguments once the task succeeded (they hold a secret)."""

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt: doubling, capped, with
        jitter so that tasks failed together by one outage do not all retry at once."""
        seconds = min(self.max_delay, self.first_delay * 2 ** (attempts - 1))
        return timedelta(seconds=seconds * random.uniform(0.5, 1.0))  # noqa: S311


POLICIES: Final[dict[str, RetryPolicy]] = {}
"""Task module path → its retry policy; tasks declared without `durable` get the default."""


def durable(
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    first_delay: float = 10.0,
    max_delay: float = 3600.0,
    forget_arguments: bool = False,
    queue_name: str = "default",
    priority: int = 0,
) -> Callable[[Callable[..., Any]], Task[Any, Any]]:
    """A Django task with a retry policy. Its arguments must be JSON (ids, not objects)."""
    policy = RetryPolicy(max_attempts, first_delay, max_delay, forget_arguments)

    def wrap(function: Callable[..., Any]) -> Task[Any, Any]:
        declared: Task[Any, Any] = task(function, queue_name=queue_name, priority=priority)
        POLICIES[declared.module_path] = policy
        return declared

    return wrap


def policy_for(task_path: str) -> RetryPolicy:
    return POLICIES.get(task_path, RetryPolicy())


@dataclass(frozen=True)
class Periodic:
    """A task (taking no arguments) enqueued every `every` by whichever worker claims its
    turn first (kernel/worker.py), so any number of workers run it once per period."""

    task: Task[Any, Any]
    every: timedelta

    @property
    def name(self) -> str:
        return str(self.task.module_path)


# --- email ------------------------------------------------------------------------------


def send_email(message: EmailMessage) -> None:
    """Deliver `message` (already rendered) from a task: call it inside the transaction of
    the change that causes it. The request does the same work whatever the recipient, and
    an unreachable mail server delays the email instead of failing the change."""
    if message.attachments:
        raise ValueError("send_email carries text and HTML only, not attachments.")
    alternatives = getattr(message, "alternatives", [])
    deliver_email.enqueue(
        {
            "subject": str(message.subject),
            "body": str(message.body),
            "from_email": message.from_email,
            "to": list(message.to),
            "cc": list(message.cc),
            "bcc": list(message.bcc),
            "reply_to": list(message.reply_to),
            "headers": dict(message.extra_headers),
            "alternatives": [[str(part[0]), part[1]] for part in alternatives],
        }
    )


@durable(max_attempts=10, forget_arguments=True)
def deliver_email(message: dict[str, Any]) -> None:
    """Sends one rendered email (SMTP, or the development mailbox). The message may hold a
    sign-in code or an invitation link: the queue forgets it once sent."""
    alternatives = message.pop("alternatives")
    email = EmailMultiAlternatives(**message)
    for content, mimetype in alternatives:
        email.attach_alternative(content, mimetype)
    email.send()
