"""`{{ form.error|with_action }}`: a refusal's message with what lifts it as a link
("The Free plan allows up to 100 records. <a>Upgrade to Pro</a> for more.")."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from kernel.errors import AppError

register = template.Library()


@register.filter
def with_action(error: AppError | None) -> SafeString | str:
    """The message, escaped, its action label linked where the message names it (else
    the link follows the message); the message alone when there is no action."""
    if error is None:
        return ""
    message = escape(error.message)
    if not error.action_url or not error.action_label:
        return message
    link = format_html('<a href="{}">{}</a>', error.action_url, error.action_label)
    label = escape(error.action_label)
    if label in message:
        before, _, after = message.partition(label)
        return SafeString(before + link + after)
    return SafeString(f"{message} {link}")
