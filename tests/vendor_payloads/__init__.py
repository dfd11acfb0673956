"""Every request and response example of the vendor seeds, verbatim (Zulip-style named
fixtures). `load("select_cloud_port__response")` parses one; `load_bytes(...)` gives its
exact bytes (to serve over HTTP or to sign)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The file for a fixture name (with or without its extension)."""
    candidate = HERE / name
    if candidate.suffix in (".json", ".txt") and candidate.exists():
        return candidate
    for suffix in (".json", ".txt"):
        candidate = HERE / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no vendor payload named {name!r} in {HERE}")


def load_bytes(name: str) -> bytes:
    return path(name).read_bytes()


def load(name: str) -> Any:
    return json.loads(load_bytes(name))


def names(kind: str = "") -> list[str]:
    """Fixture names (without .json), optionally only those ending with `__<kind>`."""
    found = sorted(p.stem for p in HERE.glob("*.json"))
    return [n for n in found if n.endswith(f"__{kind}")] if kind else found
