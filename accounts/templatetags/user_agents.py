"""`{{ session.user_agent|device }}`: "Firefox on macOS" instead of the raw header."""

from __future__ import annotations

from functools import lru_cache

from django import template
from ua_parser import parse

register = template.Library()

# ua-parser's family names, as people know them.
OS_NAMES = {"Mac OS X": "macOS", "iOS": "iOS", "Chrome OS": "ChromeOS"}
BROWSER_NAMES = {"HeadlessChrome": "Chrome (headless)", "Mobile Safari": "Safari"}
UNKNOWN = "Other"


@register.filter
@lru_cache(maxsize=512)
def device(user_agent: str) -> str:
    result = parse(user_agent or "")
    browser = result.user_agent.family if result.user_agent else UNKNOWN
    system = result.os.family if result.os else UNKNOWN
    browser = BROWSER_NAMES.get(browser, browser)
    system = OS_NAMES.get(system, system)
    if browser == UNKNOWN and system == UNKNOWN:
        return "Unknown browser"
    if system == UNKNOWN:
        return browser
    return f"{browser} on {system}"
