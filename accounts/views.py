"""Account pages: overview, profile, the step-up page, and account deletion."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from allauth.account.views import EmailView
from allauth.mfa.base.views import AuthenticateView
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from accounts import pending
from accounts.avatars import ACCEPT, max_size_text
from accounts.mail import send_templated_mail
from accounts.models import User
from accounts.mutations import (
    account_delete,
    blocked_message,
    deletion_blockers,
    profile_update,
)
from accounts.queries import profile_get
from accounts.schemas import DISPLAY_NAME_MAX, languages, time_zone_groups
from accounts.stepup import issue_code, redeem_code
from kernel import actors, errors
from kernel.door import call
from kernel.errors import AppError
from kernel.pages import FormView, take_kept_input
from kernel.sensitive import get_sensitive_action


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # behind login_required
    return request.user


def _organization_of(request: HttpRequest, action: str) -> int | None:
    """The active organization, for organization-scoped sensitive actions."""
    if not get_sensitive_action(action).organization_scoped:
        return None
    return actors.resolve(request).organization_id


@login_required
def account_overview(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/overview.html",
        {
            "authenticators": Authenticator.objects.filter(user=user).order_by("type"),
            "has_password": user.has_usable_password(),
        },
    )


class ProfilePage(FormView):
    """The person's own profile: display name, avatar, time zone, language."""

    function = profile_update
    template_name = "accounts/profile.html"
    success_message = gettext_lazy("Profile saved.")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        profile = call(profile_get, request)  # signed in, or off to sign in
        return {
            "profile": profile,
            "time_zone_groups": time_zone_groups(profile.time_zone),
            "languages": languages(),
            "default_time_zone": settings.TIME_ZONE,
            "display_name_max": DISPLAY_NAME_MAX,
            "avatar_accept": ACCEPT,
            "avatar_max": max_size_text(),
        }

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        profile = page["profile"]
        return {
            "display_name": profile.display_name,
            "time_zone": profile.time_zone or settings.TIME_ZONE,
            "language": profile.language or settings.LANGUAGE_CODE.split("-")[0],
        }

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """The uploaded file, as the API takes it (base64). One byte past the limit is
        enough to refuse it, so a huge upload is never read whole."""
        upload = request.FILES.get("avatar")
        if upload is None:
            return {}
        content = upload.read(settings.AVATAR_MAX_BYTES + 1)
        return {"avatar": base64.b64encode(content).decode()}


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The footer's switcher: Django's set_language (the language cookie, back to a safe
    `next`) and, for a signed-in person, their profile's language too, so the choice
    follows them to other browsers (the profile is what LanguageMiddleware reads)."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        call(profile_update, request, {"language": language})
    return response


CODE_SENT = "accounts.step_up_code_sent"
"""The action an emailed step-up code was last sent for (the page then asks for it)."""


@login_required
@require_http_methods(["GET", "POST"])
def step_up(request: HttpRequest, action: str) -> HttpResponse:
    user = _user(request)
    try:
        sensitive = get_sensitive_action(action)
    except LookupError:
        raise errors.not_found(_("There is no such action.")) from None
    next_url = pending.safe_next(request, request.GET.get("next") or request.POST.get("next"))
    try:
        organization_id = _organization_of(request, action)
    except AppError:
        organization_id = None
    pending.remember(
        request,
        pending.PendingStepUp(action, next_url, organization_id, time.time()),
    )
    code_sent = request.session.get(CODE_SENT) == action
    if request.method == "POST":
        try:
            if "send_code" in request.POST:
                code = issue_code(request, action)
                send_templated_mail(
                    "accounts/email/step_up_code",
                    user.email,
                    {"code": code, "action": sensitive, "user": user},
                )
                messages.info(
                    request, _("We sent a 6-digit code to %(email)s.") % {"email": user.email}
                )
                # Post/redirect/get: a refresh shows the code form, it sends no second mail.
                request.session[CODE_SENT] = action
                return redirect(request.get_full_path())
            if "code" in request.POST:
                entered = request.POST.get("code", "").strip().replace(" ", "")
                if redeem_code(request, action, entered, organization_id=organization_id):
                    pending.forget(request)
                    request.session.pop(CODE_SENT, None)
                    return HttpResponseRedirect(next_url)
                messages.error(request, _("That code is not valid. Check it or ask for a new one."))
                code_sent = True
        except AppError as error:
            messages.error(request, error.message)
    mfa_types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    done = f"?{urlencode({'next': reverse('account_step_up_done')})}"
    return render(
        request,
        "accounts/step_up.html",
        {
            "action": sensitive,
            "next_url": next_url,
            "password_url": reverse("account_reauthenticate") + done
            if user.has_usable_password()
            else None,
            "totp_url": reverse("mfa_reauthenticate") + done
            if Authenticator.Type.TOTP in mfa_types
            else None,
            "passkey_url": reverse("mfa_reauthenticate_webauthn") + done
            if Authenticator.Type.WEBAUTHN in mfa_types
            else None,
            "email_code": not user.has_usable_password(),
            "code_sent": code_sent,
        },
    )


@login_required
def step_up_done(request: HttpRequest) -> HttpResponse:
    """Where allauth's re-authentication returns; the grant was minted by its signal."""
    step_up = pending.recall(request)
    if step_up is None:
        return redirect("account_overview")
    pending.forget(request)
    return HttpResponseRedirect(step_up.next_url)


class DeletePage(FormView):
    """Delete the account: the email typed to confirm, then the registered mutation.
    Who cannot delete is told so on the page; step-up is asked when the form is sent
    (the mutation asks; kernel/middleware.py brings the user back with what they typed)."""

    function = account_delete
    template_name = "accounts/delete.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actors.resolve_person(request)  # signed in, or off to sign in
        blocking = deletion_blockers(_user(request))
        return {
            "blocking": blocking,
            "blocked": blocked_message(blocking) if blocking else "",
            "grace_days": settings.ORGANIZATION_DELETION_GRACE_DAYS,
        }

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        logout(request)
        messages.success(request, _("Your account and its data have been deleted."))
        return redirect("landing")


class EmailPage(EmailView):  # type: ignore[misc]  # allauth is untyped
    """allauth's email page. Viewing it needs no step-up (accounts/allauth_urls.py asks
    when a change is sent); after the step-up, the form shows the address typed."""

    def get_initial(self) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_initial()
        kept = take_kept_input(self.request) if self.request.method == "GET" else None
        if kept is not None and "action_add" in kept and kept.get("email"):
            initial["email"] = kept["email"]
        return initial


email_page = EmailPage.as_view()


class TwoFactorSignIn(AuthenticateView):  # type: ignore[misc]  # allauth is untyped
    """allauth's second sign-in step offers "Use a security key" whenever passkeys are
    enabled on the site; here only to someone who has one."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["has_security_key"] = Authenticator.objects.filter(
            user=self.stage.login.user, type=Authenticator.Type.WEBAUTHN
        ).exists()
        return context


two_factor_sign_in = TwoFactorSignIn.as_view()
