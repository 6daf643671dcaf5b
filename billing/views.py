"""Billing pages: thin transports over billing's registered functions."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import actions
from billing.plans import PLANS, money
from billing.providers.local import LocalProvider
from billing.queries import billing_get, invoice_list
from billing.schemas import CancelWhen, ChangePreviewOut
from kernel import actors, errors
from kernel.door import call
from kernel.pages import ActionView, FormView, error_text


def page(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/page.html", {"overview": call(billing_get, request)})


def invoices(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/invoices.html", {"listing": call(invoice_list, request)})


def plans(request: HttpRequest) -> HttpResponse:
    """The comparison; with `?change=<plan>`, the price of switching to it first (the
    provider's preview), to confirm before the change is made."""
    context: dict[str, Any] = {
        "overview": call(billing_get, request),
        "plans": list(PLANS.values()),
    }
    if change := request.GET.get("change", ""):
        try:
            preview = call(actions.preview_change, request, {"plan": change[:32]})
        except errors.AppError as error:
            messages.error(request, error_text(error))
            return redirect("billing:plans")
        context["preview"] = preview
        context["preview_text"] = preview_text(preview)
    return render(request, "billing/plans.html", context)


def preview_text(preview: ChangePreviewOut) -> str:
    """ "You'll pay $8.40 now, then $36 per month." """
    values = {
        "now": money(preview.amount_due_now, preview.currency),
        "next": money(preview.next_amount, preview.currency),
    }
    if preview.interval == "year":
        return _("You'll pay %(now)s now, then %(next)s per year.") % values
    return _("You'll pay %(now)s now, then %(next)s per month.") % values


class ToProvider(ActionView):
    """An action that answers with the provider's URL to send the buyer to."""

    back = "billing:page"

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        return redirect(value)


class Checkout(ToProvider):
    function = actions.start_checkout


class StartTrial(ToProvider):
    function = actions.start_trial

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        if value.startswith(reverse("billing:page")):  # a local trial: started already
            messages.success(request, _("The free trial has started: no payment needed."))
        return redirect(value)


class Portal(ToProvider):
    function = actions.open_portal


class Cancel(ActionView):
    function = actions.cancel_subscription
    back = "billing:page"
    confirm_button = cast(str, gettext_lazy("Cancel now"))  # worded when shown

    def confirm_text(self, request: HttpRequest, **kwargs: Any) -> str:
        # At period end nothing is lost yet (and it can be resumed); now ends it at once.
        if request.POST.get("when") != CancelWhen.NOW:
            return ""
        return _(
            "The subscription ends immediately: the organization moves to the free plan"
            " and loses the paid plan's features and limits now."
        )

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        ended = request.POST.get("when") == CancelWhen.NOW
        messages.success(
            request,
            _("The subscription has ended.")
            if ended
            else _("The subscription ends at the end of the period."),
        )
        return redirect(self.back_url(request))


class Change(ActionView):
    """The plan picker's confirmation (`plans` with `?change=`) posts `confirmed=yes`;
    anything else is sent there first, so nobody changes plan without seeing the price."""

    function = actions.change_plan
    success_message = cast(str, gettext_lazy("Plan change requested."))  # worded when shown
    back = "billing:page"

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if request.POST.get("confirmed") != "yes":
            plan = request.POST.get("plan", "")[:32]
            return redirect(f"{reverse('billing:plans')}?{urlencode({'change': plan})}")
        return super().post(request, **kwargs)


class Resume(ActionView):
    function = actions.resume_subscription
    success_message = cast(str, gettext_lazy("The subscription continues."))  # worded when shown
    back = "billing:page"


class LocalCheckout(FormView):
    """The local provider's checkout page: "pay" without an account anywhere."""

    function = actions.local_pay
    template_name = "billing/local_checkout.html"
    success_url = "billing:page"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        if settings.BILLING_PROVIDER != "local":
            raise errors.not_found(_("There is no local checkout on this server."))
        try:
            organization_id, plan, seats = LocalProvider().read_checkout(kwargs["token"])
        except signing.BadSignature:
            raise errors.not_found(_("This checkout link is not valid (or expired).")) from None
        actor = actors.resolve(request)
        if actor.organization_id != organization_id:
            raise errors.not_found(_("This checkout link is not valid (or expired)."))
        overview = call(billing_get, request)  # billing.read, as for the real providers
        return {"plan": plan, "seats": seats, "overview": overview}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"token": kwargs["token"]}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        plan = self.context(request, **kwargs)["plan"]
        messages.success(request, _("Payment received: %(plan)s is active.") % {"plan": plan.name})
        return redirect("billing:page")
