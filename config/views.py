from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billing.plans import PLANS, Plan
from kernel import errors
from kernel.errors import AppError
from kernel.rendering import api_error_response, page_error_response, wants_json

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and the CI smoke check."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return JsonResponse({"status": "ok", "database": "ok", "database_ms": elapsed_ms})


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
    return _render(request, errors.invalid_input("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _render(request, errors.forbidden())


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _render(request, errors.not_found("There is nothing at this address."))


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return api_error_response(errors.server_error())
    # Rendered without the request: its context processors may be what failed.
    return HttpResponse(render_to_string("errors/500.html"), status=500)
