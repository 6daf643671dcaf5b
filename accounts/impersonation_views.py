"""The operator's "view as" pages: start (reason, then the level-4 step-up), and stop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import impersonation
from accounts.models import User
from kernel import actors, errors
from kernel.door import IMPERSONATION_REFUSED
from kernel.pages import FormView


def _target_id(request: HttpRequest) -> int:
    raw = request.GET.get("user", "")
    if not raw.isdigit():
        raise errors.not_found(_("There is no such person."))
    return int(raw)


class StartPage(FormView):
    """`?user=<id>`: why, then the step-up (the mutation asks for it; the middleware
    brings the operator back here with the reason typed), then the switch."""

    function = impersonation.impersonation_start
    template_name = "accounts/impersonation_start.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        person = actors.resolve_person(request)  # signed in, or off to sign in
        if person.impersonated:
            raise errors.forbidden(IMPERSONATION_REFUSED)
        operator = User.objects.get(pk=person.user_id)
        if not impersonation.may_impersonate(operator):
            raise errors.forbidden(
                _("Only operators with a verified email and two-factor may view as a person.")
            )
        target = User.objects.filter(pk=_target_id(request)).first()
        if target is None:
            raise errors.not_found(_("There is no such person."))
        return {"target": target, "minutes": settings.IMPERSONATION_MINUTES}

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        return {"reason": ""}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"user_id": _target_id(request)}

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        request.return_to = request.get_full_path()  # type: ignore[attr-defined]  # keep ?user=
        return super().post(request, **kwargs)

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        impersonation.switch_to(request, value)
        messages.info(request, _("You are viewing the site as %(user)s.") % {"user": request.user})
        return redirect("dashboard")


@require_POST
def stop(request: HttpRequest) -> HttpResponse:
    viewed = impersonation.end(request, "stopped")
    if viewed is None:
        return redirect("dashboard")
    messages.success(request, _("You stopped viewing as %(email)s.") % {"email": viewed.email})
    return redirect(impersonation.after_end(request, viewed))


start_page = StartPage.as_view()
