"""`ago` says what Django's naturaltime says, in both languages, kept or not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone, translation

from core.ago import ago

# Deltas away from any unit's boundary (a boundary crossed between the two calls would
# make them differ by a second or an hour for reasons of their own).
DELTAS = [
    timedelta(0),
    timedelta(seconds=1, milliseconds=300),
    timedelta(seconds=30, milliseconds=300),
    timedelta(minutes=1, seconds=30),
    timedelta(minutes=59, seconds=20),
    timedelta(hours=1, minutes=30),
    timedelta(hours=23, minutes=30),
    timedelta(days=1, minutes=30),
    timedelta(days=1, hours=5, minutes=30),
    timedelta(days=9, hours=2, minutes=30),
    timedelta(days=45, hours=7, minutes=30),
    timedelta(days=400, hours=7, minutes=30),
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_ago_words_a_moment_as_naturaltime_does(language: str) -> None:
    with translation.override(language):
        for _ in range(2):  # worked out, then kept
            for delta in DELTAS:
                moment = timezone.now() - delta
                assert ago(moment) == naturaltime(moment), delta


def test_kept_words_follow_the_language() -> None:
    moment = timezone.now() - timedelta(minutes=5, seconds=10)
    with translation.override("en"):
        english = ago(moment)
    with translation.override("zh-hans"):
        chinese = ago(moment)
    assert english == "5\xa0minutes ago"
    assert chinese != english and "5" in chinese


def test_the_words_move_with_the_clock() -> None:
    moment = timezone.now() - timedelta(days=3, minutes=30)
    later = timezone.now() + timedelta(hours=2)
    with translation.override("en"):
        assert ago(moment) == "3\xa0days ago"
        assert ago(moment, later) == "3\xa0days, 2\xa0hours ago"
        assert ago(timezone.now() + timedelta(hours=1, minutes=30)) == "an hour from now"
