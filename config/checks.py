"""Configuration mistakes become `manage.py check` errors that name the variable and the fix,
and the servers refuse to start on them (`refuse_to_serve_on_errors`, from wsgi.py and asgi.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Final, TextIO

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from config.env import ConfigProblem

APP_LOAD_ERROR: Final = 4
"""The exit status of a server that refuses to start: gunicorn's arbiter stops on it
("App failed to load") instead of booting the worker again and again."""


@checks.register()
def check_environment(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    problems: list[ConfigProblem] = getattr(settings, "CONFIG_PROBLEMS", [])
    return [
        checks.Error(problem.message, hint=problem.hint, id="config.E001", obj=problem.variable)
        for problem in problems
    ]


def refuse_to_serve_on_errors(stream: TextIO | None = None) -> None:
    """Run the system checks once, as the process loads the application, and exit with
    APP_LOAD_ERROR if any is an error: a malformed variable or a missing DATABASE_URL
    must stop the server, not leave it serving on defaults. These are the checks
    `manage.py check` runs; the deployment hardening of `check --deploy` (HSTS, a real
    email backend) belongs to the deployment pipeline, so a benchmark or a smoke test may
    still serve production mode on loopback. Costs ~0.1 s, most of it importing the URLs
    that the first request would import anyway."""
    serious = [
        message
        for message in checks.run_checks()
        if message.is_serious() and not message.is_silenced()
    ]
    if not serious:
        return
    stream = stream or sys.stderr
    count = f"{len(serious)} error{'s' if len(serious) > 1 else ''}"
    print(f"Refusing to start: the configuration has {count}.", file=stream)
    for message in serious:
        print(f"  {message}", file=stream)
    print("Fix them and start again (`manage.py check --deploy` lists them).", file=stream)
    stream.flush()
    raise SystemExit(APP_LOAD_ERROR)
