"""`{{ value|when }}`: the one way the console shows a time, "2026-12-07 20:45:03" in the
reader's zone (the active one, core/zones.py, named at the foot of every page), the same in
every language; "" for none, so `|default:"—"` follows. Machine-readable times stay
`|date:"c"` (ISO 8601, in a `datetime` attribute)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

CONSOLE_FORMAT = "Y-m-d H:i:s"

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, CONSOLE_FORMAT)


@register.filter
def when_cell(value: datetime | None) -> str:
    """`when` for a table cell: the date and the time each kept whole on its line (a date's
    hyphens are break opportunities: "2026-12-" over "07 20:45:03" reads as two values),
    wrapping only between them when the column is narrow."""
    text = when(value)
    if not text:
        return ""
    day, _, clock = text.partition(" ")
    return format_html('<span class="nobr">{}</span> <span class="nobr">{}</span>', day, clock)
