from __future__ import annotations

from typing import Any

from allauth.account.signals import user_signed_up
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from organizations.actors import ACTIVE_ORGANIZATION_SESSION_KEY
from organizations.mutations import personal_organization_create


@receiver(user_signed_up)
def create_personal_organization(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Every new user starts in an organization of their own, made active."""
    organization = personal_organization_create(user=user)
    if request is not None and hasattr(request, "session"):
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
