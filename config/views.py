from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis import RedisError

from billing.plans import PLANS, Plan
from config import health
from kernel import errors
from kernel.errors import AppError
from kernel.rendering import api_error_response, page_error_response, wants_json

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers, probes and operators: 200 when PostgreSQL and Redis (if
    REDIS_URL is set) answer, else 503; and the task queue's backlog. The shape is
    documented in docs/operations.md ("Observability")."""
    body: dict[str, object]
    try:
        database_ms = health.database_milliseconds()
        backlog = health.task_backlog()
    except DatabaseError as error:
        # A warning without the traceback: probes keep asking while it is away.
        logger.warning("Health check: database unreachable: %s", error)
        body = {"status": "error", "database": "unreachable", "tasks": None}
    else:
        tasks = {"ready": backlog.ready, "oldest_ready_seconds": backlog.oldest_seconds}
        body = {"status": "ok", "database": "ok", "database_ms": database_ms, "tasks": tasks}
    if settings.REDIS_URL:
        try:
            body |= {"redis": "ok", "redis_ms": health.redis_milliseconds()}
        except RedisError as error:
            logger.warning("Health check: Redis unreachable: %s", error)
            body |= {"status": "error", "redis": "unreachable"}
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


@dataclass(frozen=True)
class PriceCard:
    plan: Plan
    amount: int
    """Whole currency units, for display: the providers hold the real prices."""
    featured: bool


def landing(request: HttpRequest) -> HttpResponse:
    """For visitors (signed-in people may read it too; the header takes them home):
    the pricing section is the plan catalogue, cheapest-ranked first."""
    plans = sorted(PLANS.values(), key=lambda plan: plan.rank)
    first_paid = next((plan for plan in plans if not plan.is_free), None)
    pricing = [PriceCard(plan, plan.price_cents // 100, plan is first_paid) for plan in plans]
    return render(request, "pages/landing.html", {"pricing": pricing})


# Django's error handlers, so framework errors render like AppErrors: JSON under /api/.
def _render(request: HttpRequest, error: AppError) -> HttpResponse:
    if wants_json(request):
        return api_error_response(error)
    return page_error_response(request, error)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _render(request, errors.invalid_input(_("The request could not be understood.")))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _render(request, errors.forbidden())


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _render(request, errors.not_found(_("There is nothing at this address.")))


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return api_error_response(errors.server_error())
    # Rendered without the request: its context processors may be what failed.
    return HttpResponse(render_to_string("errors/500.html"), status=500)
