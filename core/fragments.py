"""Fragments rendered once per distinct input, then served from the cache.

Django's template engine costs about 1 ms per fleet row (bench/pages.py --profile); a page
of 50 rows spent most of its time there, though the rows rarely change between views. A
fragment that is a pure function of a small dict of plain values (a row: its cells) is
kept under a digest of those values, the language, the time zone, the URL prefix and the
template file's version. A cached copy therefore cannot differ from a fresh render: nothing
to invalidate and nothing to go stale (a changed row has a new key; old keys expire).

The values must be plain (str, int, float, bool, None, date/datetime, tuples of these):
their repr is the key. Anything the template reads must be in them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.cache import cache_read, cache_read_many, cache_write, cache_write_many


def _digest(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _file_version(path: str) -> tuple[int, int]:
    """The template file's version: a deploy or an edit that changes it renders anew.
    (Its mtime and size: reading the source back would parse the whole file again.)"""
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def _head(template: Any, template_name: str) -> tuple[object, ...]:
    """What every fragment's output depends on besides its own values."""
    return (
        template_name,
        _file_version(template.origin.name),
        get_language(),
        get_script_prefix(),
        timezone.get_current_timezone_name(),  # dates are rendered in it
    )


def render_each(
    template_name: str, name: str, contexts: Sequence[Mapping[str, Any]]
) -> list[SafeString]:
    """Render `template_name` once per context, each with `{name: context}`; reuse the
    cached copy of any context rendered before (same values, language and template).

    The whole list is kept too, under a digest of all its contexts: a page seen again
    unchanged is one cache read, not one per row (bench/pages.py --profile)."""
    if not contexts:
        return []
    template = get_template(template_name)
    head = _head(template, template_name)
    items = [sorted(c.items()) for c in contexts]
    whole_key = f"frags:{_digest(head, name, items)}"
    whole = cache_read(whole_key)
    if whole is not None:
        return [mark_safe(html) for html in whole]  # noqa: S308 - as below
    keys = [f"frag:{_digest(head, item)}" for item in items]
    found = cache_read_many(keys)
    rendered: dict[str, str] = {}
    out = []
    for key, values in zip(keys, contexts, strict=True):
        html = found.get(key)
        if html is None:
            html = rendered.get(key) or template.render({name: values})
            rendered[key] = html
        out.append(mark_safe(html))  # noqa: S308 - the template's own (autoescaped) output
    cache_write_many(
        {**rendered, whole_key: [str(html) for html in out]}, settings.FRAGMENT_CACHE_SECONDS
    )
    return out


def render_keyed(
    template_name: str, inputs: tuple[object, ...], context: Callable[[], Mapping[str, Any]]
) -> SafeString:
    """Render `template_name` with `context()` once per distinct `inputs`: plain values
    that determine everything the template shows from that context (a bound filter form:
    its data and its options). The caller answers for `inputs` being complete."""
    template = get_template(template_name)
    key = f"frag:{_digest(_head(template, template_name), inputs)}"
    html = cache_read(key)
    if html is None:
        html = template.render(dict(context()))
        cache_write(key, html, settings.FRAGMENT_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - the template's own (autoescaped) output
