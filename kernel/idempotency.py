"""Idempotent mutations: a repeat with the same key returns the first result.

A key belongs to (principal, organization, function): another user or API key, another
organization or another function never sees it. The fingerprint is the function's name
and its validated arguments, so reusing a key for different arguments is a `conflict`.
The door (kernel/door.py) looks the key up only after authentication and the permission
check, and writes the record in the mutation's own transaction: a committed change is
always recorded, a rolled-back one never is. Records last IDEMPOTENCY_TTL_HOURS (24 by
default); `manage.py prune` deletes expired ones (kernel/prune.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel import errors
from kernel.actor import Actor, Person, System
from kernel.functions import Function
from kernel.models import IdempotencyRecord
from kernel.mutations import Collided
from kernel.prune import idempotency_ttl

MAX_KEY_LENGTH: Final = 200


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise errors.invalid_input(
            fields={
                "Idempotency-Key": [_("Use 1 to %(max)s characters.") % {"max": MAX_KEY_LENGTH}]
            }
        )
    return key


def fingerprint(function: Function, arguments: Any) -> str:
    canonical = json.dumps([function.name, arguments], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _scope(principal: Actor | Person | System) -> dict[str, Any]:
    organization = principal.organization_id if isinstance(principal, Actor) else None
    return {"principal": principal.principal, "organization_id": organization}


def find(
    principal: Actor | Person | System, function: Function, key: str, print_: str
) -> bytes | None:
    """The stored result of an earlier call with this key, or None. A key reused for
    other arguments is a `conflict`."""
    record = (
        IdempotencyRecord.objects.filter(
            **_scope(principal),
            function=function.name,
            key=key,
            created_at__gt=timezone.now() - idempotency_ttl(),
        )
        .only("fingerprint", "result")
        .first()
    )
    if record is None:
        return None
    if record.fingerprint != print_:
        raise errors.conflict(_("This idempotency key was already used for a different call."))
    return bytes(record.result)


def store(
    principal: Actor | Person | System, function: Function, key: str, print_: str, result: bytes
) -> None:
    scope = {**_scope(principal), "function": function.name, "key": key}
    # An expired record of the same key gives way (pruning may not have run yet).
    IdempotencyRecord.objects.filter(
        **scope, created_at__lte=timezone.now() - idempotency_ttl()
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(**scope, fingerprint=print_, result=result)
    except IntegrityError as error:
        raise Collided("a concurrent call with this key committed first") from error
