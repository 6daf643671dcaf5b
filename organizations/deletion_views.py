"""The restore page: an owner's view of an organization scheduled for deletion (the same
page its `pending_deletion` refusal shows them, organizations/deletion.py), and the
button that restores it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from kernel import actors
from kernel.door import call
from kernel.pages import FormView
from organizations import deletion


class RestorePage(FormView):
    """Owners only (`not_found` for non-members, `forbidden` for other roles); personal:
    it resolves no Actor in the organization, which admission would refuse."""

    function = deletion.organization_restore
    template_name = "organizations/pending_deletion.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        pending = call(deletion.pending_deletion_get, request, self.fixed_input(request, **kwargs))
        return deletion.restore_context(pending)

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"organization_id": kwargs["organization_id"]}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        actors.set_active_organization(request, value.id)
        messages.success(
            request,
            format_html(
                '{} is restored. Its subscription stayed cancelled: <a href="{}">choose a '
                "plan again</a> if you need one.",
                value.name,
                reverse("billing:plans"),
            ),
        )
        return redirect("dashboard")
