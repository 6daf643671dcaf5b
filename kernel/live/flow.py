"""Back-pressure for sockets whose client stops reading.

daphne writes every frame into Twisted's transport at once, and Twisted buffers whatever
the client does not read, without limit. So we register a push producer on the transport:
Twisted pauses it once its write buffer passes 64 KiB and resumes it when drained. While
paused, the consumer holds back live values, keeping only the newest per subscription
(an old value of a live query is worth nothing once a newer one exists). A reader that
stops therefore costs at most one frame per subscription plus Twisted's buffer, and gets
the current values when it reads again.

Under a server other than daphne (or Channels' test communicator) there is no gate and
the server's own flow control applies.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from functools import partial
from typing import Any, Final

SCOPE_KEY: Final = "kernel.write_gate"


class WriteGate:
    """A Twisted streaming producer that records whether writing should pause, and passes
    the news on to the producer it replaced (the HTTP channel the socket was upgraded
    from, which then stops reading from a client that does not read)."""

    def __init__(self, replaced: Any | None = None) -> None:
        self.paused = False
        self.on_resume: Callable[[], None] | None = None
        self._replaced = replaced

    def pauseProducing(self) -> None:
        self.paused = True
        if self._replaced is not None:
            self._replaced.pauseProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        if self._replaced is not None:
            self._replaced.resumeProducing()
        if self.on_resume is not None:
            self.on_resume()

    def stopProducing(self) -> None:
        self.paused = True
        if self._replaced is not None:
            self._replaced.stopProducing()


def install(transport: Any) -> WriteGate:
    """Register a gate as the transport's producer, in place of the current one."""
    replaced = getattr(transport, "producer", None)
    if replaced is not None:
        transport.unregisterProducer()
    gate = WriteGate(replaced)
    transport.registerProducer(gate, True)
    return gate


def _daphne_protocol(send: Any) -> Any | None:
    """daphne hands each application `partial(server.handle_reply, protocol)`."""
    if isinstance(send, partial) and send.args and hasattr(send.args[0], "transport"):
        return send.args[0]
    return None


class WriteGateMiddleware:
    """Put a `WriteGate` for the connection's transport in the scope (daphne only)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> Any:
        protocol = _daphne_protocol(send)
        if protocol is not None and getattr(protocol, "transport", None) is not None:
            scope = {**scope, SCOPE_KEY: install(protocol.transport)}
        return await self.inner(scope, receive, send)
