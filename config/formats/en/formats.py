"""The product's English date formats (day month year, 24-hour clock) instead of Django's
American ones; every other language uses Django's own (config/settings.py,
FORMAT_MODULE_PATH). Templates name a format, never a pattern: `|date:"SHORT_DATE_FORMAT"`."""

DATE_FORMAT = "j F Y"  # 3 December 2026
SHORT_DATE_FORMAT = "j M Y"  # 3 Dec 2026
DATETIME_FORMAT = "j F Y, H:i"  # 3 December 2026, 14:30
SHORT_DATETIME_FORMAT = "j M Y H:i"  # 3 Dec 2026 14:30
TIME_FORMAT = "H:i"
