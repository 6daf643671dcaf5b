"""Billing pages: thin transports over billing's registered functions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing import actions
from billing.plans import PLANS
from billing.providers.local import LocalProvider
from billing.queries import billing_get, invoice_list
from billing.schemas import CancelWhen
from kernel import actors, errors
from kernel.door import call
from kernel.pages import ActionView, FormView


def page(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/page.html", {"overview": call(billing_get, request)})


def invoices(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/invoices.html", {"listing": call(invoice_list, request)})


def plans(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "billing/plans.html",
        {"overview": call(billing_get, request), "plans": list(PLANS.values())},
    )


class ToProvider(ActionView):
    """An action that answers with the provider's URL to send the buyer to."""

    back = "billing:page"

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        return redirect(value)


class Checkout(ToProvider):
    function = actions.start_checkout


class Portal(ToProvider):
    function = actions.open_portal


class Cancel(ActionView):
    function = actions.cancel_subscription
    back = "billing:page"
    confirm_button = "Cancel now"

    def confirm_text(self, request: HttpRequest, **kwargs: Any) -> str:
        # At period end nothing is lost yet (and it can be resumed); now ends it at once.
        if request.POST.get("when") != CancelWhen.NOW:
            return ""
        return (
            "The subscription ends immediately: the organization moves to the free plan"
            " and loses the paid plan's features and limits now."
        )

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        ended = request.POST.get("when") == CancelWhen.NOW
        messages.success(
            request,
            "The subscription has ended."
            if ended
            else "The subscription ends at the end of the period.",
        )
        return redirect(self.back_url(request))


class Change(ActionView):
    function = actions.change_plan
    success_message = "Plan change requested."
    back = "billing:page"
    confirm = "The plan changes now: its limits and features apply to the organization at once."
    confirm_button = "Change plan"


class Resume(ActionView):
    function = actions.resume_subscription
    success_message = "The subscription continues."
    back = "billing:page"


class LocalCheckout(FormView):
    """The local provider's checkout page: "pay" without an account anywhere."""

    function = actions.local_pay
    template_name = "billing/local_checkout.html"
    success_url = "billing:page"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        if settings.BILLING_PROVIDER != "local":
            raise errors.not_found("There is no local checkout on this server.")
        try:
            organization_id, plan, seats = LocalProvider().read_checkout(kwargs["token"])
        except signing.BadSignature:
            raise errors.not_found("This checkout link is not valid (or expired).") from None
        actor = actors.resolve(request)
        if actor.organization_id != organization_id:
            raise errors.not_found("This checkout link is not valid (or expired).")
        overview = call(billing_get, request)  # billing.read, as for the real providers
        return {"plan": plan, "seats": seats, "overview": overview}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"token": kwargs["token"]}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        plan = self.context(request, **kwargs)["plan"]
        messages.success(request, f"Payment received: {plan.name} is active.")
        return redirect("billing:page")
