"""Versioned rows: an edit names the version it started from, so no edit silently undoes
another (two people open a record; the second one's save would erase the first's).

    class WorkspaceRecord(Versioned, TenantModel): ...

    record = get_for_actor(WorkspaceRecord, args.record_id, actor)
    require_version(record, args.version)     # `conflict` if someone saved in between
    record.title = ...
    save_version(record)                       # version + 1, in the same UPDATE

Pages send the version in a hidden field, the API in `If-Match` (or a `version` field),
the socket as an argument. Run it inside a mutation: SERIALIZABLE makes the check and the
write one step.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy

from kernel import errors


class Versioned(models.Model):
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


STALE = gettext_lazy(
    "Someone else saved this in the meantime. Review the current version, then save again."
)


def require_version(row: Versioned, version: int) -> None:
    if row.version != version:
        raise errors.AppError(errors.ErrorCode.CONFLICT, STALE, fields={"version": [STALE]})


def save_version(row: Versioned, **kwargs: Any) -> None:
    """Save `row` as the next version (atomically: `version = version + 1`)."""
    row.version = F("version") + 1  # an expression until reloaded
    row.save(**kwargs)
    row.refresh_from_db(fields=["version"])
