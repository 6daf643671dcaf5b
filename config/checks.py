"""Configuration mistakes become `manage.py check` errors that name the variable and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from config.env import ConfigProblem


@checks.register()
def check_environment(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    problems: list[ConfigProblem] = getattr(settings, "CONFIG_PROBLEMS", [])
    return [
        checks.Error(problem.message, hint=problem.hint, id="config.E001", obj=problem.variable)
        for problem in problems
    ]
