"""One date-time format across the console: every time a page shows goes through the
`when` filter (core/templatetags/times.py), "2026-12-07 20:45:00" in the reader's zone,
in English and Chinese alike; a template's own `|date:"…"` or `|time:"…"` with another
format, or a bare `{{ ….created_at }}` (Django's per-language format), is refused."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

from django.template import Context, Template
from django.utils import timezone, translation

ROOT = Path(__file__).resolve().parents[2]
# Machine formats (ISO 8601 in a datetime attribute, epoch seconds) and a date alone.
ALLOWED = {"c", "U", "Y-m-d"}
FORMATTED = re.compile(r"\|(?:date|time):(?:\"([^\"]*)\"|'([^']*)')")
BARE = re.compile(r"\{\{ ?[\w.]*(?:_at|_time) ?(?:\}\}|\|default)")


def _templates() -> list[Path]:
    skip = {".venv", "node_modules", "staticfiles", "var"}
    return [p for p in ROOT.rglob("*.html") if not skip & set(p.relative_to(ROOT).parts)]


def test_templates_format_times_only_through_the_one_filter() -> None:
    found = []
    for path in _templates():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in FORMATTED.finditer(line):
                if (m.group(1) or m.group(2)) not in ALLOWED:
                    found.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0)}")
            found += [f"{path.relative_to(ROOT)}:{n}: {m.group(0)}" for m in BARE.finditer(line)]
    assert found == []


def test_the_filter_writes_one_format_in_the_readers_zone_in_both_languages() -> None:
    at = datetime(2026, 12, 7, 12, 45, 3, 250000, tzinfo=UTC)
    template = Template("{% load times %}{{ at|when }}|{{ none|when|default:'—' }}")
    for lang in ("en", "zh-hans"):
        with translation.override(lang), timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
            assert template.render(Context({"at": at, "none": None})) == "2026-12-07 20:45:03|—"


def test_a_table_cell_s_time_wraps_only_between_its_date_and_its_time() -> None:
    at = datetime(2026, 12, 7, 12, 45, 3, tzinfo=UTC)
    template = Template("{% load times %}{{ at|when_cell }}|{{ none|when_cell|default:'—' }}")
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        html = template.render(Context({"at": at, "none": None}))
    assert html == '<span class="nobr">2026-12-07</span> <span class="nobr">20:45:03</span>|—'
