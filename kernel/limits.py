"""Plan limits: counted things a plan bounds (seats, records), declared by the app that
owns what is counted.

    Limit("widgets", "widgets", free=100,
          raised_by={"feature.pro": 10_000, "feature.team": UNLIMITED},
          count=count_widgets)

An organization's limit is the most generous value among the capabilities its plan
grants, else the free value. Billing grants capabilities and never names a limit, so a
domain brings its own limits with it and takes them away when it is deleted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from django.db import OperationalError, connection
from django.db.backends.utils import CursorWrapper
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from psycopg.errors import LockNotAvailable

from kernel import errors
from kernel.actor import Actor, Limits
from kernel.guard import has_app_permission
from kernel.registry import Registry

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)
LOCK_WAIT_SECONDS: Final = 10.0
"""How long a plan-limited call waits for its organization's turn before `rate_limited`."""

UNLIMITED: Final = None


@dataclass(frozen=True)
class Limit:
    kind: str
    """A stable name: `<domain>.<what>`, e.g. "organization.members"."""
    label: StrOrPromise
    """What is counted, plural, for people: "records", "seats (members and invitations)"."""
    free: int | None
    raised_by: Mapping[str, int | None] = field(default_factory=dict)
    """Plan capability → the limit it grants (None: unlimited)."""
    count: Callable[[int], int] | None = None
    """Organization id → how many are in use now (the billing page shows it)."""

    def allowed(self, capabilities: Collection[str]) -> int | None:
        granted = [value for name, value in self.raised_by.items() if name in capabilities]
        if UNLIMITED in granted or self.free is UNLIMITED:
            return UNLIMITED
        return max([self.free, *(value for value in granted if value is not None)])


@dataclass(frozen=True)
class Offer:
    """A plan on sale, as the entitlement source describes it (cheapest first)."""

    name: str
    capabilities: frozenset[str]
    url: str = ""
    """Where it is bought (the plans page), for a link beside a `plan_limit` message."""
    permission: str | None = None
    """Who may buy it: the link is offered only to actors holding this permission."""

    def action_for(self, actor: Actor) -> dict[str, str | None]:
        """`plan_limit`'s link to this offer, if the actor may follow it."""
        if not self.url or (self.permission and not has_app_permission(actor, self.permission)):
            return {}
        return {
            "action_url": self.url,
            "action_label": _("Upgrade to %(plan)s") % {"plan": self.name},
        }


LIMITS: Final = Registry[Limit]("limit")
"""Filled from the apps' domain manifests at start-up (kernel/manifest.py), then frozen."""


def limits_for(capabilities: Collection[str], *, unlimited: bool = False) -> Limits:
    """Every declared limit for an organization holding `capabilities`."""
    if unlimited:
        return Limits(dict.fromkeys(LIMITS, UNLIMITED))
    return Limits({kind: limit.allowed(capabilities) for kind, limit in LIMITS.items()})


def _lifting_offer(limit: Limit, current: int, offers: Sequence[Offer]) -> Offer | None:
    for offer in offers:
        allowed = limit.allowed(offer.capabilities)
        if allowed is UNLIMITED or allowed > current:
            return offer
    return None


def require_within_limit(actor: Actor, kind: str, *, used: int, adding: int = 1) -> None:
    """Raise `plan_limit` if adding `adding` to `used` goes past the actor's plan.

    Count `used` inside the same mutation, so two requests cannot both take the last one.
    """
    allowed = actor.limits.get(kind, UNLIMITED)
    if allowed is UNLIMITED or used + adding <= allowed:
        return
    from kernel.sources import sources  # the entitlement source names the plans

    limit = LIMITS[kind]
    offer = _lifting_offer(limit, allowed, sources().offers())
    lift = (
        _("Upgrade to %(plan)s for more.") % {"plan": offer.name}
        if offer
        else _("Contact us to raise it.")
    )
    raise errors.plan_limit(
        _("The %(plan)s plan allows up to %(count)s %(things)s. %(lift)s")
        % {
            "plan": actor.plan,
            "count": number_format(allowed, force_grouping=True),
            "things": limit.label,
            "lift": lift,
        },
        **(offer.action_for(actor) if offer else {}),
    )


def bounded(actor: Actor, kind: str) -> bool:
    """The actor's plan puts a number on `kind`."""
    return actor.limits.get(kind, UNLIMITED) is not UNLIMITED


@contextmanager
def one_at_a_time(organization_id: int, kind: str) -> Iterator[None]:
    """Hold the organization's lock on `kind` (a PostgreSQL advisory lock on this
    connection) around a whole mutation, retries included.

    Taken *before* the SERIALIZABLE transaction begins, so each holder's snapshot
    already contains the previous holder's commit: its `count(*)` is exact and
    PostgreSQL finds nothing to abort. Inside the transaction the same check made 8
    concurrent creators retry thousands of times and answer some with `conflict`.
    Session-level, so released explicitly; a lost connection releases it too."""
    key = lock_key(organization_id, kind)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            _wait_for_lock(cursor, key)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            if not cursor.fetchone()[0]:  # never expected: the session changed under us
                logger.error("plan-limit lock %s was not held at unlock", key)


def lock_key(organization_id: int, kind: str) -> int:
    """The advisory lock's key for `kind` in the organization."""
    digest = hashlib.blake2b(f"{kind}:{organization_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _wait_for_lock(cursor: CursorWrapper, key: int) -> None:
    """Queue for the lock, woken the moment its holder lets go, for LOCK_WAIT_SECONDS at
    most: a waiter holds a pooled connection, so the wait is bounded."""
    cursor.execute(f"SET lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'")
    try:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    except OperationalError as error:
        if not isinstance(error.__cause__, LockNotAvailable):
            raise
        raise errors.rate_limited(
            1, _("Too many of these at once in this organization. Try again in a moment.")
        ) from None
    finally:
        cursor.execute("SET lock_timeout TO DEFAULT")


def usage(organization_id: int) -> list[tuple[Limit, int]]:
    """Each counted limit and how much of it the organization uses now."""
    return [(limit, limit.count(organization_id)) for limit in LIMITS.values() if limit.count]
