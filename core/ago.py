"""A past moment in words ("3 minutes ago", "2 months, 1 week ago"): Django's `naturaltime`,
its wording and translations, worked out once per language and distinct answer.

`naturaltime` formats lazy translations on every call (about 80 us): on the fleet list, a
row's "last event" cost a quarter of the page's CPU (bench/pages.py --profile). Under a day
its words depend on the delta alone (seconds, then minutes, then hours), so they are kept
per language and count. From a day on they come from the calendar (`timesince`: years,
months, weeks, days, hours), so they are worked out against the current minute and kept per
moment and minute: exact to the minute, and the finest unit shown there is the hour.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from django.contrib.humanize.templatetags.humanize import NaturalTimeFormatter, naturaltime
from django.utils import timezone, translation
from django.utils.timesince import timesince

_WORDS = NaturalTimeFormatter.time_strings
_DAY = timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def _within_a_day(language: str | None, unit: str, count: int) -> str:
    if unit == "now":
        return str(_WORDS["now"])
    return str(_WORDS[f"past-{unit}"] % {"count": count})


@functools.lru_cache(maxsize=50_000)
def _days_or_more(language: str | None, value: datetime, minute: datetime) -> str:
    delta = timesince(value, minute, time_strings=NaturalTimeFormatter.past_substrings)
    return str(_WORDS["past-day"] % {"delta": delta})


def ago(value: datetime, now: datetime | None = None) -> str:
    """What `naturaltime(value)` says, for a past (or present) moment; a future one is
    passed to it."""
    now = now or timezone.now()
    if value > now:
        return str(naturaltime(value))
    language = translation.get_language()
    minute = now.replace(second=0, microsecond=0)
    if minute - value >= _DAY:
        return _days_or_more(language, value, minute)
    seconds = (now - value).seconds if now - value < _DAY else 86_399
    if seconds == 0:
        return _within_a_day(language, "now", 0)
    if seconds < 60:
        return _within_a_day(language, "second", seconds)
    if seconds < 3600:
        return _within_a_day(language, "minute", seconds // 60)
    return _within_a_day(language, "hour", seconds // 3600)
