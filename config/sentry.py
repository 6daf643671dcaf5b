"""Error tracking with Sentry, on when `SENTRY_DSN` is set (config/settings.py).

sentry_sdk's Django integration reports unhandled errors in views and middleware, and its
logging integration every line logged at ERROR (the API's "Unhandled error", a task that
failed for good). No personal data is sent: no addresses, cookies, credentials, names or
emails, and neither request bodies nor the variables of a traceback's frames, which carry
them too. Events are tagged with the ids of the request or task they belong to, read from
the same context as the log lines (kernel/logcontext.py), so an event and its log lines
are found by the same request id.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.utils import BadDsn

from config.env import Env
from kernel.logcontext import current_fields


def tag_with_context(event: Any, hint: Any) -> Any:
    """before_send: the organization, user, request and task ids as tags."""
    tags = event.setdefault("tags", {})
    for name, value in current_fields().items():
        tags.setdefault(name, str(value))
    return event


def traces_sample_rate(env: Env) -> float | None:
    """SENTRY_TRACES_SAMPLE_RATE: the share of requests traced, 0 to 1; unset, none."""
    raw = env.string("SENTRY_TRACES_SAMPLE_RATE")
    if not raw:
        return None
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        env.problem(
            "SENTRY_TRACES_SAMPLE_RATE",
            f"SENTRY_TRACES_SAMPLE_RATE={raw!r} is not a number from 0 to 1.",
            "Set it to the share of requests to trace (e.g. 0.05), or unset it for none.",
        )
        return None
    return rate


def init_sentry(env: Env, *, dsn: str, production: bool) -> None:
    try:
        sentry_sdk.init(
            dsn=dsn,
            environment=env.string("SENTRY_ENVIRONMENT")
            or ("production" if production else "development"),
            traces_sample_rate=traces_sample_rate(env),
            send_default_pii=False,
            max_request_body_size="never",  # forms carry emails, passwords and tokens
            include_local_variables=False,  # and so do the variables of a traceback's frames
            integrations=[DjangoIntegration()],
            before_send=tag_with_context,
            before_send_transaction=tag_with_context,
        )
        # The development server's access line for a 5xx is an ERROR too: not an event.
        ignore_logger("django.channels.server")
    except BadDsn as error:
        env.problem(
            "SENTRY_DSN",
            f"SENTRY_DSN cannot be used: {error}.",
            "Copy the DSN from the Sentry project's settings (https://KEY@HOST/PROJECT), "
            "or unset SENTRY_DSN.",
        )
