"""Every "too many" answer says when to try again, in the reader's language with its
plural forms; the vendor's own 429 pause, when a person sees it, says it too."""

from __future__ import annotations

from django.utils import translation

from core.ratelimit import TryLater, try_again_in
from upstream.errors import SlowDown, unavailable_message


def test_try_again_in_seconds_then_minutes_with_plurals() -> None:
    with translation.override("en"):
        assert try_again_in(1) == "Try again in 1 second."
        assert try_again_in(0.2) == "Try again in 1 second."
        assert try_again_in(41.3) == "Try again in 42 seconds."
        assert try_again_in(119) == "Try again in 119 seconds."
        assert try_again_in(120) == "Try again in 2 minutes."
        assert try_again_in(601) == "Try again in 11 minutes."
    with translation.override("zh-hans"):
        assert try_again_in(40) == "请在 40 秒后重试。"
        assert try_again_in(600) == "请在 10 分钟后重试。"


def test_a_refusal_for_now_carries_its_wait() -> None:
    with translation.override("en"):
        exc = TryLater("Too many.", retry_after=59.2)
    assert exc.retry_after == 60 and str(exc) == "Too many. Try again in 60 seconds."


def test_the_vendor_pause_says_when_to_try_again() -> None:
    exc = SlowDown("upstream op: HTTP 429, retry in 30 s", retry_after=30)
    with translation.override("en"):
        text = unavailable_message(exc)
    assert text == "The vendor asked us to slow down. Nothing was sent. Try again in 30 seconds."


def test_the_two_sentences_join_as_the_language_does() -> None:
    with translation.override("en"):
        assert str(TryLater("Too many.", retry_after=3)) == "Too many. Try again in 3 seconds."
    with translation.override("zh-hans"):
        assert str(TryLater("请求过于频繁。", retry_after=3)) == "请求过于频繁。请在 3 秒后重试。"
