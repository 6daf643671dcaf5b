"""Pages' side of the door: forms bound to a function's input model, and two view bases
that handle every refusal the same way.

    class WidgetDetail(FormView):
        function = widget_update            # POST calls it through the door
        template_name = "widgets/detail.html"
        success_message = gettext_lazy("Saved.")  # translated when shown

        def context(self, request, widget_id):   # what the page shows
            return {"widget": call(widget_get, request, {"widget_id": widget_id})}

`FormView`: GET renders the page with a `form`; POST calls the function with the form's
fields, then redirects (post/redirect/get). A refusal the user can fix (invalid input, a
conflict, a plan limit, a rate limit) re-renders the page with their input and the
messages next to the fields. `ActionView`: a POST-only button (remove, revoke) that
always goes back with a message. Everything else (not found, forbidden, sign-in,
step-up) is rendered by kernel/middleware.py, which sends a step-up back to the form
with what the user typed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, ClassVar, Final

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, resolve_url
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from pydantic.fields import FieldInfo

from kernel import actors, door
from kernel.errors import AppError, ErrorCode
from kernel.functions import Function
from kernel.guard import has_app_permission
from kernel.inputs import Input, form_input, html_attrs
from kernel.rendering import render_page
from kernel.sensitive import get_sensitive_action
from kernel.stepup import satisfied, step_up_url

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

FORM_ERRORS: Final = frozenset(
    {ErrorCode.INVALID_INPUT, ErrorCode.CONFLICT, ErrorCode.PLAN_LIMIT, ErrorCode.RATE_LIMITED}
)
"""Refusals shown on the form; the rest are pages of their own (kernel/middleware.py)."""

BUTTON_ERRORS: Final = FORM_ERRORS | {ErrorCode.UNAVAILABLE}
"""A button (ActionView) also reports a service it could not reach, and goes back. So
does a `forbidden` from a policy on the target (the role may act, not on that member):
a button the page showed in good faith; a role that never had it gets the 403 page."""

TRANSPORT_FIELDS: Final = frozenset({"csrfmiddlewaretoken", "confirmed"})
KEPT_INPUT: Final = "kernel.kept_input"
CONFIRM_TEMPLATE: Final = "components/confirm.html"


@dataclass(frozen=True)
class BoundField:
    name: str
    value: Any
    errors: list[str]
    attrs: SafeString
    choices: list[tuple[str, str]]

    @property
    def id(self) -> str:
        return f"id_{self.name}"

    @property
    def values(self) -> list[str]:
        """For multiple choices: what is selected."""
        if isinstance(self.value, list | tuple | set | frozenset):
            return [str(item) for item in self.value]
        return [] if self.value in (None, "") else [str(self.value)]


class Form:
    """A function's input model bound to submitted (or initial) values and an error,
    for a template: `{{ form.title.value }}`, `{{ form.title.attrs }}`,
    `{% for message in form.title.errors %}`, `form.non_field_errors`."""

    def __init__(
        self,
        model: type[Input] | Function,
        data: Mapping[str, Any] | None = None,
        error: AppError | None = None,
    ) -> None:
        self.model = model.input if isinstance(model, Function) else model
        self.data = data if data is not None else {}
        self.error = error

    def __getitem__(self, name: str) -> BoundField:
        field = self.model.model_fields[name]
        getlist = getattr(self.data, "getlist", None)
        is_list = getattr(field.annotation, "__origin__", None) in (list, set, frozenset)
        if is_list and getlist is not None:
            value: Any = getlist(name)
        else:
            value = self.data.get(name, field.default if not field.is_required() else "")
        if isinstance(value, enum.Enum):
            value = value.value
        return BoundField(
            name=name,
            value="" if value is None else value,
            errors=self.error.fields.get(name, []) if self.error else [],
            attrs=html_attrs(self.model, name),
            choices=_choices(field.annotation),
        )

    @property
    def summary(self) -> list[str]:
        """Every message, each after its field's label ("Status: Choose one of ..."): for
        a compact form (filters) that lists its errors in one place."""
        if self.error is None:
            return []
        fields = self.model.model_fields
        labelled = [
            f"{label_of(name, fields[name])}: {problem}"
            for name, problems in self.error.fields.items()
            if name in fields
            for problem in problems
        ]
        return labelled + self.non_field_errors

    @property
    def non_field_errors(self) -> list[str]:
        if self.error is None:
            return []
        if not self.error.fields:
            return [self.error.message]
        found: list[str] = []
        for name, problems in self.error.fields.items():
            if name in self.model.model_fields:
                continue
            prefix = "" if name == "__all__" else f"{name}: "
            found.extend(f"{prefix}{problem}" for problem in problems)
        return found


def label_of(name: str, field: FieldInfo) -> str:
    """What people call the field: its title, or its name in words."""
    return _(field.title) if field.title else _(name.replace("_", " ").capitalize())


def _choices(annotation: Any) -> list[tuple[str, str]]:
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [
                (str(member.value), str(getattr(member, "label", member.value)))
                for member in candidate
            ]
    return []


def submitted(request: HttpRequest, model: type[Input]) -> dict[str, Any]:
    """The POSTed form as raw input for `model` (the CSRF token aside)."""
    data = request.POST.copy()
    for name in TRANSPORT_FIELDS:
        data.pop(name, None)
    return form_input(model, data)


def filtered(request: HttpRequest, function: Function, *, empty: Any) -> tuple[Any, Form]:
    """A list page's query, filtered by its GET form: the value and the bound filter form.
    Invalid filters are shown on the form (with `empty` as the value), as the API and the
    socket refuse them."""
    raw = form_input(function.input, request.GET, only_known=True)
    try:
        return door.call(function, request, raw), Form(function, request.GET)
    except AppError as error:
        if error.code != ErrorCode.INVALID_INPUT:
            raise
        return empty, Form(function, request.GET, error)


def error_text(error: AppError) -> str:
    """One line for a message: the field messages if there are any, else the message."""
    details = [message for problems in error.fields.values() for message in problems]
    return " ".join(dict.fromkeys(details)) or error.message


# --- views ------------------------------------------------------------------------------------


class FormView(View):
    function: ClassVar[Function]
    template_name: ClassVar[str]
    success_message: ClassVar[StrOrPromise] = ""
    success_url: ClassVar[str | None] = None
    """A URL name or path; None: this page again."""
    confirm: ClassVar[StrOrPromise] = ""
    """What will happen, asked before calling the function (a destructive form)."""
    confirm_button: ClassVar[StrOrPromise] = gettext_lazy("Confirm")
    http_method_names = ["get", "post"]

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """What the page shows besides the form (read through queries)."""
        return {}

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        """The form's values on GET, given the page's context."""
        return {}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        """Input that comes from the URL rather than the form (the record's id)."""
        return {}

    def shown_after_refusal(
        self, request: HttpRequest, error: AppError, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        """What the form shows after a refusal: what the user typed."""
        return request.POST

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        if self.success_message:
            messages.success(request, self.success_message)
        return redirect(self.success_url or request.get_full_path())

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        page = self.context(request, **kwargs)
        kept = take_kept_input(request)
        data = kept if kept is not None else self.initial(request, page, **kwargs)
        return self.render(request, page, Form(self.function, data))

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        raw = {**submitted(request, self.function.input), **self.fixed_input(request, **kwargs)}
        asked = confirmation(
            request, self.confirm, button=self.confirm_button, back=request.get_full_path()
        )
        if asked is not None:
            return asked
        try:
            value = door.call(self.function, request, raw)
        except AppError as error:
            if error.code not in FORM_ERRORS:
                raise
            page = self.context(request, **kwargs)
            shown = self.shown_after_refusal(request, error, page, **kwargs)
            return self.render(request, page, Form(self.function, shown, error), error.status)
        return self.done(request, value, **kwargs)

    def render(
        self, request: HttpRequest, page: Mapping[str, Any], form: Form, status: int = 200
    ) -> HttpResponse:
        return render_page(request, self.template_name, {**page, "form": form}, status)


def confirmation(
    request: HttpRequest, text: StrOrPromise, *, button: StrOrPromise, back: str
) -> HttpResponse | None:
    """Without JavaScript a destructive POST first answers with a page that says what will
    happen and re-posts the same fields with `confirmed=yes` (static/js/confirm.js asks in
    a dialog and sends that field itself). None: confirmed, go ahead."""
    if not text or request.POST.get("confirmed") == "yes":
        return None
    fields = [
        (key, value)
        for key, values in request.POST.lists()
        if key not in TRANSPORT_FIELDS
        for value in values
    ]
    context = {"text": text, "button": button, "fields": fields, "back": back}
    return render_page(request, CONFIRM_TEMPLATE, context)


class ActionView(View):
    """A POST-only control (remove, revoke, resend): calls the function, then goes back
    with a message whatever happened. `confirm`: what will happen, asked before doing it
    (formatted with `confirm_context`)."""

    function: ClassVar[Function]
    success_message: ClassVar[StrOrPromise] = ""
    back: ClassVar[str]
    """A URL name or path to return to."""
    confirm: ClassVar[StrOrPromise] = ""
    confirm_button: ClassVar[StrOrPromise] = gettext_lazy("Confirm")
    http_method_names = ["post"]

    def confirm_context(self, request: HttpRequest, **kwargs: Any) -> Mapping[str, Any]:
        """Names for the `confirm` text (the member's, the key's); reads through queries,
        so another organization's id is not_found before anything is shown."""
        return {}

    def _may(self, request: HttpRequest) -> bool:
        """Ask only someone whose role may act at all; the others get the refusal."""
        permission = self.function.permission
        return permission is None or has_app_permission(actors.resolve(request), permission)

    def confirm_text(self, request: HttpRequest, **kwargs: Any) -> str:
        """What will happen ("" asks nothing)."""
        if not self.confirm:
            return ""
        return str(self.confirm).format_map(self.confirm_context(request, **kwargs))

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {}

    def back_url(self, request: HttpRequest, **kwargs: Any) -> str:
        return resolve_url(self.back)

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        if self.success_message:
            messages.success(request, self.success_message)
        return redirect(self.back_url(request, **kwargs))

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        raw = {**submitted(request, self.function.input), **self.fixed_input(request, **kwargs)}
        request.return_to = self.back_url(request, **kwargs)  # type: ignore[attr-defined]
        if request.POST.get("confirmed") != "yes" and self._may(request):
            text = self.confirm_text(request, **kwargs)
            asked = confirmation(
                request, text, button=self.confirm_button, back=self.back_url(request, **kwargs)
            )
            if asked is not None:
                return asked
        try:
            value = door.call(self.function, request, raw)
        except AppError as error:
            on_target = error.code == ErrorCode.FORBIDDEN and self._may(request)
            if error.code not in BUTTON_ERRORS and not on_target:
                raise
            messages.error(request, error_text(error))
            return redirect(self.back_url(request, **kwargs))
        return self.done(request, value, **kwargs)


# --- step-up ----------------------------------------------------------------------------------

View_ = Callable[..., HttpResponseBase]


def step_up_first(action: str, *, unsafe_only: bool = False) -> Callable[[View_], View_]:
    """Page decorator: send the user through the step-up page before the form, and back.

    Only routing: the function doing the action checks (and at level 4 spends) the grant
    itself, so pages, the API and the socket enforce the same rule. `unsafe_only`: let
    the page be seen, and ask when it is submitted."""
    sensitive = get_sensitive_action(action)  # unknown names fail at import

    def decorate(view: View_) -> View_:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
            if request.user.is_authenticated and (unsafe or not unsafe_only):
                principal = (
                    actors.resolve(request)
                    if sensitive.organization_scoped
                    else actors.resolve_person(request)
                )
                if not satisfied(principal, action):
                    url = step_up_url(action, request.get_full_path())
                    if url is not None:
                        if unsafe:
                            keep_input(request, request.get_full_path(), request.POST)
                        return redirect(url)
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def keep_input(request: HttpRequest, path: str, data: QueryDict) -> None:
    """Keep what the user submitted for the page at `path`, for one view (after a
    step-up, the form is shown again with it)."""
    lists = {key: values for key, values in data.lists() if key not in TRANSPORT_FIELDS}
    request.session[KEPT_INPUT] = {"path": path.split("?")[0], "data": lists}


def take_kept_input(request: HttpRequest) -> QueryDict | None:
    kept = request.session.get(KEPT_INPUT)
    if not isinstance(kept, dict) or kept.get("path") != request.path:
        return None
    del request.session[KEPT_INPUT]
    data = QueryDict(mutable=True)
    for key, values in kept.get("data", {}).items():
        data.setlist(key, values)
    return data
