"""Django's createsuperuser, then what else the admin asks for (accounts/middleware.py):
a verified email address and two-factor authentication, and how to get them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.management.commands.createsuperuser import Command as BaseCommand


class Command(BaseCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(next_steps(settings.SITE_URL))


def next_steps(site_url: str) -> str:
    return (
        "\nBefore this account can open the admin it needs two more things:\n"
        f"  1. A verified email address: sign in at {site_url}/accounts/login/ and open the\n"
        "     confirmation link emailed to you (in development: printed in the server's\n"
        f"     terminal and kept at {site_url}/dev/mail/).\n"
        "  2. Two-factor authentication: add an authenticator app or a passkey at\n"
        f"     {site_url}/accounts/2fa/, then sign out and sign in again with it.\n"
        f"Then open {site_url}/admin/.\n"
    )
