"""render_page offers only partials a page always renders where it defines them."""

from __future__ import annotations

import pytest

from kernel.rendering import offered_partials

TEMPLATES = {
    "base.html": "<main>{% block main %}{% endblock %}</main>",
    "page.html": (
        '{% extends "base.html" %}{% block main %}'
        "{% partialdef rows inline %}<tr></tr>{% endpartialdef %}"
        "{% if secret %}{% partialdef hidden inline %}s{% endpartialdef %}{% endif %}"
        "{% for x in xs %}{% partialdef looped %}{{ x }}{% endpartialdef %}{% endfor %}"
        "{% with y=1 %}{% partialdef scoped inline %}{{ y }}{% endpartialdef %}{% endwith %}"
        "{% endblock %}"
    ),
}


@pytest.fixture
def templates(settings):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", TEMPLATES)]},
        }
    ]


def test_partials_under_a_condition_a_loop_or_a_with_are_not_offered(templates):
    assert offered_partials("page.html") == {"rows"}
    assert offered_partials("base.html") == set()
