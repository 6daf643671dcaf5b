"""The app's home: the active organization at a glance. Everything on it is read through
the door, so the catalogue decides what each viewer sees; the onboarding checklist comes
from the domains' manifests (`Domain.onboarding`), so the shell names no domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from billing.queries import billing_get
from kernel import actors
from kernel.actor import Actor
from kernel.door import call
from kernel.guard import has_app_permission
from kernel.manifest import onboarding_steps
from organizations.queries import audit_list, organization_get, organizations_of_user

RECENT_EVENTS: Final = 6


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    url: str
    done: bool


def checklist(actor: Actor) -> list[ChecklistItem]:
    """The manifests' onboarding steps this actor may take, each ticked from real data."""
    return [
        ChecklistItem(str(step.label), reverse(step.url_name), step.done(actor))
        for step in onboarding_steps()
        if step.applies()
        and (step.permission is None or has_app_permission(actor, step.permission))
    ]


def dashboard(request: HttpRequest) -> HttpResponse:
    actors.resolve_person(request)  # signed in, or off to sign in
    if not call(organizations_of_user, request):
        return render(request, "pages/dashboard_empty.html")
    actor = actors.resolve(request)
    steps = checklist(actor)
    context: dict[str, Any] = {
        "organization": call(organization_get, request),
        "steps": steps,
        "steps_done": sum(step.done for step in steps),
        "billing": call(billing_get, request)
        if has_app_permission(actor, "billing.read")
        else None,
        "events": (
            call(audit_list, request, {}).events[:RECENT_EVENTS]
            if has_app_permission(actor, "audit.read")
            else None
        ),
    }
    return render(request, "pages/dashboard.html", context)
