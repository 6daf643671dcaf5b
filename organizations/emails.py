from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from accounts.mail import send_templated_mail
from organizations.models import Invitation


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('invitation_detail', args=[token])}"


def send_invitation(invitation_id: int, token: str) -> None:
    """Queued in the invitation's transaction (kernel.tasks.send_email). The token is
    never stored with the invitation; the queue forgets it once the email is sent."""
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
            "url": invitation_url(token),
        },
    )
