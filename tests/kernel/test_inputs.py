"""Input models: one judgment of the input for every transport, in our words."""

from __future__ import annotations

from typing import Annotated

import pytest
from django.http import QueryDict
from pydantic import ValidationError

from kernel.inputs import Email, Input, Name, Text, field_errors, form_input, html_attrs


class Sample(Input):
    title: Annotated[str, Name(max_length=10)]
    notes: Annotated[str, Text(max_length=20)] = ""
    email: Email | None = None
    tags: list[str] = []
    count: int | None = None


def errors_of(**data) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        Sample.model_validate(data)
    return field_errors(raised.value.errors())


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("  Plan  ", "Plan"),
        ("a   b", "a b"),
        ("\u202eevil\u202c", "evil"),  # bidi controls reorder what a name shows: stripped
        ("\u2066x\u2069", "x"),
        ("Zoë", "Zoë"),
    ],
)
def test_names_are_normalized_once(given: str, kept: str):
    assert Sample(title=given).title == kept


@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u200c\u200d", "\ufeff", "\u2060 \u200b"])
def test_a_name_of_invisible_characters_is_refused(invisible: str):
    assert errors_of(title=invisible) == {"title": ["Use visible characters."]}


def test_text_that_cannot_be_stored_is_refused_wherever_it_is():
    assert errors_of(title="a\x00b") == {"title": ["Text cannot contain NUL (\\x00) characters."]}
    assert "tags" in errors_of(title="ok", tags=["fine", "bad\x00"])
    surrogate = errors_of(title="ok", notes="\ud800")
    assert surrogate == {"notes": ["Text must be valid Unicode (it holds a lone surrogate)."]}


def test_types_are_checked_never_coerced_to_text():
    assert errors_of(title=12) == {"title": ["Enter text."]}
    assert errors_of(title=["x"]) == {"title": ["Enter text."]}
    assert errors_of(title={"x": 1}) == {"title": ["Enter text."]}


def test_unknown_fields_are_refused():
    assert errors_of(title="ok", organization_id=65) == {
        "organization_id": ["This field is not accepted here."]
    }


def test_emails_are_judged_as_djangos_forms_judge_them():
    assert Sample(title="x", email="  Ada@Example.COM ").email == "ada@example.com"
    assert errors_of(title="x", email="not-an-email") == {"email": ["Enter a valid email address."]}


def test_messages_have_no_library_prefix():
    for messages in (errors_of(title="x" * 11), errors_of(title="ok", count="many")):
        for text in (m for ms in messages.values() for m in ms):
            assert not text.startswith(("Value error", "Input should"))
    assert errors_of(title="x" * 11) == {"title": ["Use at most 10 characters."]}
    assert errors_of(title="ok", count="many") == {"count": ["Enter a whole number."]}


def test_html_attributes_come_from_the_same_limits():
    assert html_attrs(Sample, "title") == 'maxlength="10" required'
    assert html_attrs(Sample, "email") == 'type="email" maxlength="254"'


def test_a_submitted_form_becomes_the_models_raw_input():
    data = QueryDict("title=Plan&email=&count=&tags=a&tags=b&notes=")
    assert form_input(Sample, data) == {"title": "Plan", "tags": ["a", "b"], "notes": ""}
    assert form_input(Sample, QueryDict("title=x&other=1")) == {"title": "x", "other": "1"}
    assert form_input(Sample, QueryDict("title=x&utm=1"), only_known=True) == {"title": "x"}


class Edit(Input):
    title: Annotated[str, Name(max_length=10)] | None = None
    notes: Annotated[str, Text(max_length=20)] | None = None
    email: Email | None = None


def test_an_emptied_text_field_of_an_edit_is_given_an_emptied_email_is_not():
    assert form_input(Edit, QueryDict("title=&notes=&email=")) == {"title": "", "notes": ""}
    with pytest.raises(ValidationError) as raised:
        Edit.model_validate({"title": ""})
    assert field_errors(raised.value.errors()) == {"title": ["This field is required."]}
