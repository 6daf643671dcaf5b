"""Typed readers for environment variables that remember what was wrong.

Settings must load even when a variable is malformed, so that `manage.py check` can name
the variable and the fix (see config/checks.py). Each reader therefore falls back to its
default and records a `ConfigProblem` instead of raising. Variables that production
cannot run without go through `Env.required`, which raises at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class ConfigProblem:
    variable: str
    message: str
    hint: str


@dataclass
class Env:
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    problems: list[ConfigProblem] = field(default_factory=list)

    def problem(self, variable: str, message: str, hint: str) -> None:
        self.problems.append(ConfigProblem(variable, message, hint))

    def string(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default).strip()

    def is_set(self, name: str) -> bool:
        return bool(self.string(name))

    def required(self, name: str, why: str) -> str:
        value = self.string(name)
        if not value:
            raise ImproperlyConfigured(f"{name} is not set. {why}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.string(name).lower()
        if name not in self.environ:
            return default
        if raw in TRUE_WORDS:
            return True
        if raw in FALSE_WORDS:
            return False
        self.problem(
            name,
            f"{name}={raw!r} is not a boolean.",
            f"Set {name} to true or false (also accepted: 1/0, yes/no, on/off).",
        )
        return default

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self.string(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            self.problem(
                name,
                f"{name}={raw!r} is not a whole number of at least {minimum}.",
                f"Set {name} to a whole number >= {minimum}, or unset it for {default}.",
            )
            return default
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> list[str]:
        raw = self.string(name)
        if not raw:
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        raw = self.string(name, default).lower()
        if raw in choices:
            return raw
        self.problem(
            name,
            f"{name}={raw!r} is not one of {', '.join(choices)}.",
            f"Set {name} to one of: {', '.join(choices)}.",
        )
        return default
