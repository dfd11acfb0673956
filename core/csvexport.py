"""Every CSV export goes through here (fleet, status logs, actions, audit, jobs).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet (`=HYPERLINK(...)`, `+1+1`, `@SUM(1)`): such a cell is written with a leading
`'`, so it is shown as text and never evaluated (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """UTF-8 with a BOM (spreadsheets then read it as UTF-8), every cell made safe."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_safe(v) for v in row])


def csv_response(filename: str, stream: Iterator[str]) -> HttpResponse:
    resp = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp["Cache-Control"] = "no-store"
    return resp  # type: ignore[return-value]
