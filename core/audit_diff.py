"""How an audit entry's before/after reads on the page: one line per changed field,
"field: old → new", with long lists folded after the first few items."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SHOWN = 5  # list items shown before the rest is folded


@dataclass(frozen=True)
class Shown:
    text: str
    more: list[str] = field(default_factory=list)  # folded behind "and N more"


@dataclass(frozen=True)
class Change:
    field: str
    old: Shown | None  # None: the field did not exist before
    new: Shown | None  # None: the field is gone after


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def shown(value: Any) -> Shown:
    if isinstance(value, list):
        items = [_scalar(v) for v in value]
        return Shown(", ".join(items[:SHOWN]), items[SHOWN:])
    if isinstance(value, dict):
        items = [f"{k}={_scalar(v)}" for k, v in value.items()]
        return Shown(", ".join(items[:SHOWN]), items[SHOWN:])
    return Shown(_scalar(value))


def audit_changes(before: Any, after: Any) -> list[Change]:
    """The fields that differ (a record with no `before` lists what it set)."""
    if before is None and isinstance(after, dict):
        before = {}
    if after is None and isinstance(before, dict):
        after = {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before == after:
            return []
        return [
            Change(
                "",
                shown(before) if before is not None else None,
                shown(after) if after is not None else None,
            )
        ]
    out: list[Change] = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        out.append(
            Change(
                str(key),
                shown(old) if key in before else None,
                shown(new) if key in after else None,
            )
        )
    return out
