"""`{{ session.user_agent|device }}`: "Firefox on macOS" instead of the raw header."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.utils.translation import gettext as _
from ua_parser import parse

register = template.Library()

# ua-parser's family names, as people know them.
OS_NAMES = {"Mac OS X": "macOS", "iOS": "iOS", "Chrome OS": "ChromeOS"}
BROWSER_NAMES = {"HeadlessChrome": "Chrome (headless)", "Mobile Safari": "Safari"}
UNKNOWN = "Other"


@lru_cache(maxsize=512)
def _families(user_agent: str) -> tuple[str, str]:
    """(browser, system) as people know them; parsing is the slow part, so it is cached
    (the words around them are not: they are in the viewer's language)."""
    result = parse(user_agent or "")
    browser = result.user_agent.family if result.user_agent else UNKNOWN
    system = result.os.family if result.os else UNKNOWN
    return BROWSER_NAMES.get(browser, browser), OS_NAMES.get(system, system)


@register.filter
def device(user_agent: str) -> str:
    browser, system = _families(user_agent)
    if browser == UNKNOWN and system == UNKNOWN:
        return _("Unknown browser")
    if system == UNKNOWN:
        return browser
    return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
