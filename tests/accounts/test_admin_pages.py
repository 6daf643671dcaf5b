"""The operators' admin: distinct section names, the product's header, refusals that
link to the fix, and createsuperuser saying what else the admin needs."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from tests.accounts.helpers import make_verified_user, operator_client

pytestmark = pytest.mark.django_db


def test_the_admin_index_has_distinct_section_names_and_the_product_header():
    html = operator_client().get("/admin/").content.decode()
    sections = re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', html)
    assert "Users and security" in sections
    assert "Email addresses" in sections
    assert len(sections) == len(set(sections)), sections
    assert "SaaS Starter admin" in html


def test_the_two_factor_refusal_links_to_the_two_factor_page():
    user = make_verified_user("ops@example.com")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert 'href="/accounts/2fa/">Set up two-factor</a>' in response.content.decode()


def test_the_unverified_email_refusal_links_to_the_email_page():
    user = User.objects.create_user("ops@example.com", "x")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert 'href="/accounts/email/">Go to Email</a>' in response.content.decode()


def test_createsuperuser_says_what_else_the_admin_needs():
    out = StringIO()
    call_command("createsuperuser", email="root@example.com", interactive=False, stdout=out)
    text = out.getvalue()
    assert User.objects.get(email="root@example.com").is_superuser
    assert "verified email address" in text
    assert "/accounts/login/" in text
    assert "/accounts/2fa/" in text
    assert "/dev/mail/" in text
