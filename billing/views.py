"""Billing pages: thin transports over billing queries and actions."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billing import actions
from billing.providers.local import LocalProvider
from billing.queries import billing_manage_context, billing_overview
from kernel import errors
from kernel.errors import AppError, ErrorCode
from kernel.guard import resolve_actor

PAGE_ERRORS = (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED)


def _redirect_or_message(request: HttpRequest, call: Callable[[], str | None]) -> HttpResponse:
    """Run an action; go where it says, else back to the billing page with a message."""
    try:
        url = call()
    except AppError as error:
        if error.code in PAGE_ERRORS:
            raise
        details = [message for problems in (error.fields or {}).values() for message in problems]
        messages.error(request, " ".join(details) or error.message)
        return redirect("billing:page")
    return redirect(url or "billing:page")


@login_required
def page(request: HttpRequest) -> HttpResponse:
    overview = billing_overview(actor=resolve_actor(request))
    return render(request, "billing/page.html", {"overview": overview})


@login_required
def plans(request: HttpRequest) -> HttpResponse:
    overview = billing_overview(actor=resolve_actor(request))
    return render(request, "billing/plans.html", {"overview": overview})


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    back = request.build_absolute_uri(reverse("billing:page"))
    return _redirect_or_message(
        request,
        lambda: actions.start_checkout(
            actor=resolve_actor(request),
            plan_code=request.POST.get("plan", ""),
            email=getattr(request.user, "email", ""),
            success_url=back + "?checkout=done",
            cancel_url=back + "?checkout=cancelled",
        ),
    )


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    back = request.build_absolute_uri(reverse("billing:page"))
    return _redirect_or_message(
        request, lambda: actions.open_portal(actor=resolve_actor(request), return_url=back)
    )


@login_required
@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    at_period_end = request.POST.get("when") != "now"

    def run() -> None:
        actions.cancel_subscription(actor=resolve_actor(request), at_period_end=at_period_end)
        messages.success(
            request,
            "The subscription ends at the end of the period."
            if at_period_end
            else "The subscription has ended.",
        )

    return _redirect_or_message(request, run)


@login_required
@require_POST
def change(request: HttpRequest) -> HttpResponse:
    def run() -> None:
        actions.change_plan(actor=resolve_actor(request), plan_code=request.POST.get("plan", ""))
        messages.success(request, "Plan change requested.")

    return _redirect_or_message(request, run)


@login_required
@require_POST
def resume(request: HttpRequest) -> HttpResponse:
    def run() -> None:
        actions.resume_subscription(actor=resolve_actor(request))
        messages.success(request, "The subscription continues.")

    return _redirect_or_message(request, run)


@login_required
@require_http_methods(["GET", "POST"])
def local_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The local provider's checkout page: "pay" without an account anywhere."""
    if settings.BILLING_PROVIDER != "local":
        raise errors.not_found("There is no local checkout on this server.")
    provider = LocalProvider()
    try:
        organization_id, plan, seats = provider.read_checkout(token)
    except signing.BadSignature:
        raise errors.not_found("This checkout link is not valid (or expired).") from None
    actor = resolve_actor(request)
    if actor.organization_id != organization_id:
        raise errors.not_found("This checkout link is not valid (or expired).")
    context = billing_manage_context(actor=actor)  # billing.manage, as for the real ones
    if request.method == "POST":
        provider.pay(organization_id, plan, seats)
        messages.success(request, f"Payment received: {plan.name} is active.")
        return redirect("billing:page")
    return render(
        request,
        "billing/local_checkout.html",
        {"plan": plan, "seats": seats, "organization": context.organization},
    )
