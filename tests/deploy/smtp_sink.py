"""A minimal SMTP server that keeps every message it receives as a file: the mail relay
of the proxied smoke test (.ci/proxied), so the emails the worker sends can be read.

    python -m tests.deploy.smtp_sink PORT DIRECTORY

Plain SMTP on 127.0.0.1 (no TLS, no AUTH): `EMAIL_URL=smtp://127.0.0.1:PORT?tls=false`.
"""

from __future__ import annotations

import socketserver
import sys
import uuid
from pathlib import Path


class SmtpSession(socketserver.StreamRequestHandler):
    directory: Path

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 smtp-sink ready")
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250 smtp-sink")  # no extensions: no STARTTLS, no AUTH
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.keep(self.read_data())
                self.reply("250 OK kept")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b".") else line)  # dot-stuffing
        return b"".join(lines)

    def keep(self, message: bytes) -> None:
        # Written then renamed: a reader never sees half a message.
        name = uuid.uuid4().hex
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(message)
        partial.rename(self.directory / f"{name}.eml")


class SmtpSink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    handler = type("Session", (SmtpSession,), {"directory": directory})
    with SmtpSink(("127.0.0.1", port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
