"""`manage.py dev`: what `make run` runs — migrations, then the development processes.

This process owns the shutdown. Ctrl-C reaches every process in the terminal's group at
once, and each stops by itself. SIGTERM (which `make` forwards to its child) and SIGHUP
reach only this process: it sends SIGINT to each child and its descendants, as Ctrl-C
would. Whatever is still running after STOP_TIMEOUT is killed. Then, with the embedded
database, this process drops the handles of processes that died without their exit hooks
and exits normally, so its own exit hook stops the embedded PostgreSQL: it is the last
process holding a handle. (Python runs no exit hooks on an unhandled SIGTERM, so a
SIGTERM that reached `runserver` itself used to leave the server running.)
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

import psutil
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

STOP_TIMEOUT = 15.0
"""Seconds the children have to exit before they are killed."""


def development_commands(addrport: str) -> list[list[str]]:
    """The manage.py commands run side by side; the first to exit stops the others."""
    return [
        ["runserver", addrport],
    ]


class Command(BaseCommand):
    help = "Apply migrations, then run the development server until stopped (make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="localhost:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stop_signal: int | None = None
        self.migrating = True
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, self._on_signal)
        try:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
        except KeyboardInterrupt:
            return  # rolled back; the exit hooks still stop the embedded server
        self.migrating = False
        children: list[subprocess.Popen[bytes]] = []
        try:
            for command in development_commands(options["addrport"]):
                if self.stop_signal is None:
                    # This interpreter and this manage.py, with our own arguments.
                    children.append(subprocess.Popen([sys.executable, sys.argv[0], *command]))  # noqa: S603
            while self.stop_signal is None and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            # The terminal has already sent SIGINT to everyone on Ctrl-C; a second one
            # would make the task worker abandon its current task.
            _stop(children, interrupt=self.stop_signal != signal.SIGINT)
            if settings.EMBEDDED_DATABASE:
                from config.embedded_postgres import forget_exited_processes

                forget_exited_processes(settings.DATA_DIR)
        failed = [child.returncode for child in children if child.returncode != 0]
        if failed and self.stop_signal is None:
            sys.exit(f"{len(failed)} of the development processes exited with an error.")

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self.stop_signal = self.stop_signal or number
        if self.migrating:
            raise KeyboardInterrupt  # stop a long migration now, not after it


def _stop(children: list[subprocess.Popen[bytes]], *, interrupt: bool) -> None:
    """Interrupt the children and their descendants, wait, kill what is left."""
    processes: list[psutil.Process] = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(child.pid)
            processes += [parent, *parent.children(recursive=True)]
    if interrupt:
        for process in processes:
            _send(process, signal.SIGINT)
    _, alive = psutil.wait_procs(processes, timeout=STOP_TIMEOUT)
    for process in alive:
        _send(process, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    for child in children:
        child.poll()


def _send(process: psutil.Process, number: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(number)
