from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.mail import send_templated_mail
from organizations.models import Invitation


def invitation_url(request: HttpRequest | None, token: str) -> str:
    path = reverse("invitation_detail", args=[token])
    return request.build_absolute_uri(path) if request else f"{settings.SITE_URL}{path}"


def send_invitation(request: HttpRequest | None, invitation_id: int, token: str) -> None:
    """Sent after the invitation commits (the token itself is never stored)."""
    invitation = (
        Invitation.objects.unscoped()  # internal: by primary key, just created
        .select_related("organization", "invited_by")
        .get(pk=invitation_id)
    )
    send_templated_mail(
        "organizations/email/invitation",
        invitation.email,
        {
            "invitation": invitation,
            "organization": invitation.organization,
            "inviter": invitation.invited_by,
            "url": invitation_url(request, token),
        },
    )
