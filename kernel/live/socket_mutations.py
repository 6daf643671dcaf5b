"""Mutations sent over the socket run in order (a consumer handles one frame at a time)
and exactly once: the client's frame id is the idempotency key, so a client that
reconnects and sends the same mutation again gets the first result, not a second write."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction

from kernel import errors
from kernel.actor import Actor
from kernel.live.registry import SocketMutation
from kernel.models import IdempotencyRecord


def _principal(actor: Actor) -> str:
    return f"key{actor.api_key_id}" if actor.api_key_id else f"user{actor.user_id}"


def run_once(mutation: SocketMutation, actor: Actor, frame_id: Any, args: dict[str, Any]) -> Any:
    key = f"ws:{_principal(actor)}:{frame_id}"[:255]
    fingerprint = hashlib.sha256(
        json.dumps([mutation.name, args], sort_keys=True, default=str).encode()
    ).hexdigest()
    records = IdempotencyRecord.objects.for_actor(actor)
    previous = records.filter(key=key).first()
    if previous is not None:
        if previous.request_hash != fingerprint:
            raise errors.conflict(f"Mutation id {frame_id!r} was already used for another call.")
        if previous.status_code is None:
            raise errors.conflict(f"Mutation {frame_id!r} is still running.")
        return json.loads(bytes(previous.body))
    try:
        with transaction.atomic():
            claim = IdempotencyRecord.objects.create(
                organization_id=actor.organization_id, key=key, request_hash=fingerprint
            )
    except IntegrityError:
        raise errors.conflict(f"Mutation {frame_id!r} is still running.") from None
    try:
        result = mutation.function(actor=actor, **args)
    except Exception:
        claim.delete()  # nothing was written: the client may retry
        raise
    claim.status_code = 200
    claim.content_type = "application/json"
    claim.body = json.dumps(result, default=str).encode()
    claim.save(update_fields=["status_code", "content_type", "body"])
    return result
