"""Back-pressure for sockets whose client stops reading.

daphne writes every frame into Twisted's transport at once, and Twisted buffers whatever
the client does not read, without limit. So we register a push producer on the transport:
Twisted pauses it once its write buffer passes 64 KiB and resumes it when drained. While
paused, the consumer holds back live values, keeping only the newest per subscription
(an old value of a live query is worth nothing once a newer one exists). A reader that
stops therefore costs at most one frame per subscription plus Twisted's buffer, and gets
the current values when it reads again.

The gate also knows the socket's protocol, so a live value shared by many subscribers
is framed once and its bytes written straight to each socket's transport (`write`):
through Channels, daphne and autobahn each frame cost ~22 µs, which at 100 subscribers
was most of a push.

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

    def __init__(self, replaced: Any | None = None, protocol: Any | None = None) -> None:
        self.paused = False
        self.on_resume: Callable[[], None] | None = None
        self._replaced = replaced
        self._protocol = protocol

    def write(self, frame: bytes) -> bool:
        """Write a complete WebSocket frame (`text_frame`) to the socket now; False if it
        cannot take one (paused, not open, or no protocol): send it the normal way.

        On a plain TCP transport with nothing queued, the frame goes to the socket in one
        `send`; Twisted gets only what the kernel did not take. Through Twisted alone
        every frame registered the socket with the event loop and unregistered it again
        around its `send`: three system calls a frame, most of a fan-out's cost."""
        protocol = self._protocol
        if self.paused or protocol is None or protocol.state != protocol.STATE_OPEN:
            return False
        transport = protocol.transport
        if _idle_plain_tcp(transport):
            try:
                sent = transport.socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:  # the connection is going: Twisted notices and closes it
                return True
            if sent == len(frame):
                return True
            frame = frame[sent:]
        transport.write(frame)
        return True

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


def _idle_plain_tcp(transport: Any) -> bool:
    """A connected, unencrypted Twisted TCP transport with nothing waiting to be written
    (so a frame written past it cannot overtake earlier bytes)."""
    from twisted.internet.tcp import Connection

    return (
        isinstance(transport, Connection)
        and not getattr(transport, "TLS", False)
        and bool(transport.connected)
        and not transport.disconnecting
        and not getattr(transport, "_writeDisconnected", False)
        and not transport._tempDataBuffer
        and len(transport.dataBuffer) == transport.offset
    )


def install(transport: Any, protocol: Any | None = None) -> WriteGate:
    """Register a gate as the transport's producer, in place of the current one."""
    replaced = getattr(transport, "producer", None)
    if replaced is not None:
        transport.unregisterProducer()
    gate = WriteGate(replaced, protocol)
    transport.registerProducer(gate, True)
    return gate


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2), as a server sends."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


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
            scope = {**scope, SCOPE_KEY: install(protocol.transport, protocol)}
        return await self.inner(scope, receive, send)
