"""The WebSocket transport at /ws/: JSON frames in, JSON frames out.

Client → server: `subscribe {id, query, args}` (a registered live query), `unsubscribe
{id}`, `mutation {id, name, args}` (a registered mutation or action, in order; a mutation
id is its idempotency key), `auth {id, token}` (an API key, first), `ping {id}`. Every call
goes through the door (kernel/door.py): the same validation, permission, step-up and
idempotency as the pages and the API.
Server → client: `result {id, value}` at once and whenever the value changes, `error {id,
code, message, fields}` with the API's codes, `pong {id}`, and `status {state}` when the
server cannot keep values current ("unavailable": the database is away) and again when
it can ("live"). The socket authenticates with the session cookie (browsers; Origin
checked) or `Authorization: Bearer <api key>`; signing the session out anywhere closes
it (code 4001). Nothing here needs the channel layer (Redis): changes, revocations and
sign-outs all arrive through PostgreSQL, so a Redis outage does not touch sockets.
See docs/live-queries.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial
from typing import Any, Final

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from kernel import actors, door, errors
from kernel.change_capture import session_row_key
from kernel.errors import AppError
from kernel.functions import Kind, public_function
from kernel.live import flow
from kernel.live.flow import WriteGate
from kernel.live.hub import Subscription, hub
from kernel.rendering import as_app_error, socket_error_frame

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS: Final = 64 * 1024
MAX_SUBSCRIPTIONS: Final = 50
CLOSE_MESSAGE_TOO_BIG: Final = 1009
CLOSE_SIGNED_OUT: Final = 4001


class KernelConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    scope: dict[str, Any]
    channel_layer_alias = None  # no channel layer: a socket must not depend on Redis

    async def connect(self) -> None:
        self.subscriptions: dict[Any, Subscription] = {}
        # Live values not yet written because the client reads slowly: the newest per
        # subscription only, so a reader that stops costs bounded memory (kernel/live/flow.py).
        self.held: dict[Any, str] = {}
        self.gate: WriteGate | None = self.scope.get(flow.SCOPE_KEY)
        self.flusher: asyncio.Task[None] | None = None  # held here: the loop keeps weak refs
        if self.gate is not None:
            self.gate.on_resume = self.resume
        self.state = "live"
        session_key = getattr(self.scope.get("session"), "session_key", None)
        self.session_row = session_row_key(session_key) if session_key else None
        if self.session_row is not None:
            hub().watch_session(self.session_row, self.session_changed)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for subscription in getattr(self, "subscriptions", {}).values():
            hub().unsubscribe(subscription)
        row: str | None = getattr(self, "session_row", None)
        if row is not None:
            hub().unwatch_session(row, self.session_changed)

    async def session_changed(self) -> None:
        """The session's row changed or went (signed out, here or in any process, or
        ended from the sessions page): close the socket if the session is gone."""
        session = self.scope["session"]
        try:
            exists = await database_sync_to_async(session.exists)(session.session_key)
        except Exception:  # the database is away: the listener asks again once it is back
            logger.warning("live queries: could not check a session", exc_info=True)
            return
        if not exists:
            await self.close(code=CLOSE_SIGNED_OUT)

    async def set_state(self, state: str) -> None:
        """Tell the client whether its values are being kept current."""
        if state != self.state:
            self.state = state
            await self.send_frame({"type": "status", "state": state})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_frame(
                socket_error_frame(errors.invalid_input("Frames must be JSON text."), None)
            )
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self.send_frame(
                socket_error_frame(
                    errors.invalid_input(f"Frames are limited to {MAX_FRAME_CHARS} characters."),
                    None,
                )
            )
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
            return
        frame_id: Any = None
        try:
            frame = _parse_frame(text_data)
            frame_id = frame["id"]
            reply = await self.handle(frame)
            if reply is not None:
                await self.send_frame(reply)
        except AppError as error:
            await self.send_frame(socket_error_frame(error, frame_id))
        except Exception as error:  # one bad frame must not end the connection
            await self.send_frame(socket_error_frame(as_app_error(error), frame_id))

    async def handle(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        kind, frame_id = frame["type"], frame["id"]
        if kind == "ping":
            return {"type": "pong", "id": frame_id}
        if kind == "auth":
            return await self.authenticate(frame_id, frame.get("token"))
        if kind == "subscribe":
            await self.subscribe(frame_id, frame.get("query"), frame.get("args") or {})
            return None  # the hub sends the first result
        if kind == "unsubscribe":
            subscription = self.subscriptions.pop(frame_id, None)
            if subscription is not None:
                hub().unsubscribe(subscription)
            return {"type": "unsubscribed", "id": frame_id}
        if kind == "mutation":
            return await self.mutate(frame_id, frame.get("name"), frame.get("args") or {})
        raise errors.invalid_input(f"Unknown frame type {kind!r}.")

    async def authenticate(self, frame_id: Any, token: Any) -> dict[str, Any]:
        """`auth {id, token}`: an API key in the first frame, for clients that cannot set
        headers. It applies to the subscriptions and mutations that follow."""
        if self.subscriptions:
            raise errors.conflict("Authenticate before subscribing.")
        if not isinstance(token, str) or not token:
            raise errors.invalid_input(fields={"token": ["An API key is required."]})
        scope = {**self.scope, "headers": [(b"authorization", f"Bearer {token}".encode())]}
        scope.pop("session", None)
        scope.pop("user", None)
        await database_sync_to_async(actors.resolve)(scope)  # unauthenticated if not valid
        self.scope = scope
        return {"type": "authenticated", "id": frame_id}

    async def subscribe(self, frame_id: Any, name: Any, args: Any) -> None:
        query = public_function(name, Kind.QUERY)
        if query is None or not query.live:
            raise errors.not_found(f"There is no live query named {name!r}.")
        if not isinstance(args, dict):
            raise errors.invalid_input(fields={"args": ["An object is required."]})
        if frame_id in self.subscriptions:
            raise errors.conflict(f"Subscription {frame_id!r} already exists.")
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise errors.rate_limited(1, f"At most {MAX_SUBSCRIPTIONS} subscriptions per socket.")
        valid = door.validate(query, args)
        # A personal query (the bell's count) is the person's own, in any organization
        # or none; API keys are refused it.
        resolve = actors.resolve_person if query.personal else actors.resolve
        actor = await database_sync_to_async(resolve)(self.scope)
        push = partial(self.push, frame_id)
        subscription = Subscription(
            frame_id,
            query,
            valid,
            actor,
            self.scope,
            push,
            status=self.set_state,
            write=self.write_frame if self.gate is not None else None,
        )
        self.subscriptions[frame_id] = subscription
        await hub().subscribe(subscription)
        if subscription not in hub().subscriptions:  # its first run failed
            self.subscriptions.pop(frame_id, None)

    async def mutate(self, frame_id: Any, name: Any, args: Any) -> dict[str, Any]:
        function = public_function(name, Kind.MUTATION, Kind.ACTION)
        if function is None:
            raise errors.not_found(f"There is no mutation named {name!r}.")
        if not isinstance(args, dict):
            raise errors.invalid_input(fields={"args": ["An object is required."]})
        key = f"ws:{frame_id}" if function.kind is Kind.MUTATION else None
        outcome = await database_sync_to_async(door.run)(
            function, self.scope, args, idempotency_key=key
        )
        value = (
            None
            if function.output is None
            else function.output.dump_python(outcome.value, mode="json")
        )
        return {"type": "result", "id": frame_id, "value": value}

    async def push(self, subscription_id: Any, text: str) -> None:
        """Send a subscription's new value, or hold it while the client is not reading
        (replacing the one held before)."""
        self.held.pop(subscription_id, None)  # keep frames in the order they were pushed
        self.held[subscription_id] = text
        await self.flush_held()

    def write_frame(self, frame: bytes) -> bool:
        """A prebuilt frame straight to the transport (kernel/live/flow.py), unless values
        are being held for a slow reader: they must go out first, in order."""
        return not self.held and self.gate is not None and self.gate.write(frame)

    def resume(self) -> None:
        """The client drained Twisted's buffer: write what was held."""
        self.flusher = asyncio.ensure_future(self.flush_held())

    async def flush_held(self) -> None:
        while self.held and not (self.gate is not None and self.gate.paused):
            subscription_id = next(iter(self.held))
            await self.send(text_data=self.held.pop(subscription_id))

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":"), default=str))


def _parse_frame(text: str) -> dict[str, Any]:
    try:
        frame = json.loads(text)
    except ValueError:
        raise errors.invalid_input("Frames must be JSON objects.") from None
    if not isinstance(frame, dict):
        raise errors.invalid_input("Frames must be JSON objects.")
    fields: dict[str, list[str]] = {}
    if not isinstance(frame.get("type"), str):
        fields["type"] = ["Required: a string."]
    if not isinstance(frame.get("id"), str | int) or isinstance(frame.get("id"), bool):
        fields["id"] = ["Required: a string or integer chosen by the client."]
    if fields:
        raise errors.invalid_input("The frame is missing required fields.", fields=fields)
    return frame
