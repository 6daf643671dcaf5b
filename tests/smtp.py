"""A real SMTP server for tests, on loopback: it speaks enough SMTP for Django's SMTP
backend (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no auth) and keeps each
message it accepts. Python 3.12 removed `smtpd`; aiosmtpd is not a dependency."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test-smtp ready")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-test-smtp\r\n250 8BITMIME\r\n" if verb == "EHLO" else b"")
                if verb == "HELO":
                    self.reply("250 test-smtp")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.received.append(bytes(data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    received: list[bytes]


class SmtpSink:
    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port: int = server.server_address[1]

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for raw in self._server.received]

    def mailer(self) -> dict[str, object]:
        """A MAILERS entry sending here."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 5},
        }


@contextmanager
def smtp_sink(port: int = 0) -> Iterator[SmtpSink]:
    server = _Server(("127.0.0.1", port), _Session)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SmtpSink(server)
    finally:
        server.shutdown()
        server.server_close()
