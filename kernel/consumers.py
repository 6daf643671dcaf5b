"""The WebSocket transport at /ws/: JSON frames in, JSON frames out.

Every frame is an object with a `type` and an `id` chosen by the client; errors come back
as `{"type": "error", "id", "code", "message", "fields"}` with the API's codes. Today the
socket answers `ping`; the function registry behind `subscribe`, `unsubscribe` and
`mutation` arrives with reactive queries (docs/architecture in ../shared).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from channels.generic.websocket import AsyncWebsocketConsumer

from kernel import errors
from kernel.errors import AppError
from kernel.rendering import as_app_error, socket_error_frame

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS: Final = 64 * 1024
FUNCTION_FRAMES: Final = frozenset({"subscribe", "unsubscribe", "mutation"})
CLOSE_MESSAGE_TOO_BIG: Final = 1009


class KernelConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
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
            await self.send_frame(await self.handle(frame))
        except AppError as error:
            await self.send_frame(socket_error_frame(error, frame_id))
        except Exception as error:  # one bad frame must not end the connection
            await self.send_frame(socket_error_frame(as_app_error(error), frame_id))

    async def handle(self, frame: dict[str, Any]) -> dict[str, Any]:
        kind = frame["type"]
        if kind == "ping":
            return {"type": "pong", "id": frame["id"]}
        if kind in FUNCTION_FRAMES:
            name = frame.get("query") or frame.get("name")
            raise errors.not_found(f"There is no function named {name!r}.")
        raise errors.invalid_input(f"Unknown frame type {kind!r}.")

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))


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
