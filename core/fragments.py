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
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.autoreload import file_changed
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.access import role_of
from core.cache import cache_read, cache_read_many, cache_write, cache_write_many
from core.context_processors import live_url, nav_items
from core.roles import ROLE_LABELS

# A copy in this process too: the keys name their content, so a process's copy is as good
# as Redis's and saves the round trip and the unpickling (a page of rows is some 75 kB).
LOCAL_BYTES = 8 * 1024 * 1024  # per process
_local: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_local_size = 0
_local_lock = threading.Lock()


def _local_get(key: str) -> Any:
    with _local_lock:
        kept = _local.get(key)
        if kept is None:
            return None
        _local.move_to_end(key)
        return kept[1]


def _local_put(key: str, value: str | list[str]) -> None:
    global _local_size
    size = len(value) if isinstance(value, str) else sum(len(v) for v in value)
    with _local_lock:
        if key in _local:
            return
        _local[key] = (size, value)
        _local_size += size
        while _local_size > LOCAL_BYTES and _local:
            _old, (old_size, _v) = _local.popitem(last=False)
            _local_size -= old_size


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


def template_version(template_name: str) -> tuple[int, int]:
    """A template's file version, for the inputs of a fragment that includes it (`_head`
    names only the fragment's own file)."""
    template: Any = get_template(template_name)
    return _file_version(template.origin.name)


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
    # The whole list's key: the names once and each context's values in their order when
    # every context has the same names (a page of rows), else each context's items; the
    # same information in a third of the repr (bench/pages.py --profile).
    names = sorted(contexts[0])
    if all(c.keys() == contexts[0].keys() for c in contexts):
        whole_key = f"frags:{_digest(head, name, names, [[c[n] for n in names] for c in contexts])}"
    else:
        whole_key = f"frags:{_digest(head, name, [sorted(c.items()) for c in contexts])}"
    whole = _local_get(whole_key)
    if whole is None:
        whole = cache_read(whole_key)
        if whole is not None:
            _local_put(whole_key, whole)
    if whole is not None:
        return [mark_safe(html) for html in whole]  # noqa: S308 - as below
    items = [sorted(c.items()) for c in contexts]
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
    whole = [str(html) for html in out]
    cache_write_many({**rendered, whole_key: whole}, settings.FRAGMENT_CACHE_SECONDS)
    _local_put(whole_key, whole)
    return out


def render_keyed(
    template_name: str, inputs: tuple[object, ...], context: Callable[[], Mapping[str, Any]]
) -> SafeString:
    """Render `template_name` with `context()` once per distinct `inputs`: plain values
    that determine everything the template shows from that context (a bound filter form:
    its data and its options). The caller answers for `inputs` being complete."""
    template = get_template(template_name)
    key = f"frag:{_digest(_head(template, template_name), inputs)}"
    html = _local_get(key)
    if html is None:
        html = cache_read(key)
        if html is None:
            html = template.render(dict(context()))
            cache_write(key, html, settings.FRAGMENT_CACHE_SECONDS)
        _local_put(key, html)
    return mark_safe(html)  # noqa: S308 - the template's own (autoescaped) output


# --- page shells ------------------------------------------------------------------------
# A whole page's template costs the fleet list about a third of its CPU (bench/pages.py
# --profile): the layout's menu, some hundred translated strings and URLs, rendered anew
# on every view though they change only with the reader and the address. The shell is
# the page rendered once with a marker in place of each part that changes from view to
# view (the slots: the rows, the tiles, ...; the CSRF token and the live stream's
# address); each view renders its slots and puts them in.

_SLOT = "<sb-slot {}>"  # "<" never comes out of a variable unescaped: no value can forge one
_SLOT_RE = re.compile(r"<sb-slot ([a-z_]+)>")
SHELLS_KEPT = 256  # per process; a shell is some 20 kB
_shells: OrderedDict[str, str] = OrderedDict()
_shells_lock = threading.Lock()
_sources_changed = 0


def _forget_shells(**_kwargs: Any) -> None:
    """The autoreloader (runserver) saw a template or catalogue change: it reloads them in
    this process instead of restarting it, so shells rendered from the old ones go too.
    (Anywhere else a process keeps the templates and catalogues it loaded until it ends,
    and its shells end with it.)"""
    global _sources_changed
    with _shells_lock:
        _sources_changed += 1
        _shells.clear()


file_changed.connect(_forget_shells, dispatch_uid="core.fragments.shells")


def _shell_inputs(
    request: HttpRequest, template_name: str, inputs: tuple[object, ...], nav: list[Any]
) -> tuple[object, ...]:
    """Everything a shell shows besides its slots: the layout's reader (name, role, menu),
    language, time zone, address (path and query: the language form's "next", hidden
    inputs) and the view's own `inputs`."""
    user = request.user
    role = role_of(user)
    return (
        template_name,
        _sources_changed,
        get_language(),
        get_script_prefix(),
        timezone.get_current_timezone_name(),
        tuple(settings.LANGUAGES),
        request.get_full_path(),
        bool(user.is_authenticated),
        user.pk,
        user.get_username() if user.is_authenticated else "",
        role,
        tuple((str(i["label"]), i["url"], i["active"], i.get("count")) for i in nav),
        inputs,
    )


def render_shell(
    request: HttpRequest,
    template_name: str,
    context: Mapping[str, Any],
    *,
    slots: Mapping[str, str],
    inputs: tuple[object, ...],
) -> HttpResponse:
    """The whole page `template_name`: its shell (kept in this process under everything it
    depends on) with `slots` (rendered HTML, each shown by `{{ name }}` in the template)
    put in. `context` holds what the page shows besides its slots and the layout's own
    values, and `inputs` (plain values) must determine it all. The template may read no
    other per-view value (the time, a nonce): those are slots.

    A page with flash messages is rendered whole: they show once."""
    if len(get_messages(request)):  # type: ignore[arg-type]
        return render(request, template_name, {**context, **slots})
    user = request.user
    nav = nav_items(request) if user.is_authenticated else []
    key = _digest(_shell_inputs(request, template_name, inputs, nav))
    with _shells_lock:
        shell = _shells.get(key)
        if shell is not None:
            _shells.move_to_end(key)
    names = [*slots, "csrf_token", *(["live_url"] if user.is_authenticated else [])]
    if shell is None:
        role = role_of(user)
        markers = {name: mark_safe(_SLOT.format(name)) for name in names}  # noqa: S308
        shell = render_to_string(
            template_name,
            {
                **context,
                **markers,
                "nav_items": nav,
                "user_role": role,
                "user_role_label": ROLE_LABELS[role] if role else "",
            },
            request=request,
        )
        with _shells_lock:
            _shells[key] = shell
            while len(_shells) > SHELLS_KEPT:
                _shells.popitem(last=False)
    values: dict[str, str] = {name: str(conditional_escape(v)) for name, v in slots.items()}
    values["csrf_token"] = str(conditional_escape(get_token(request)))
    if user.is_authenticated:
        values["live_url"] = str(conditional_escape(live_url()))
    return HttpResponse(_SLOT_RE.sub(lambda m: values[m[1]], shell))
