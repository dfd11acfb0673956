"""Every setting read from the environment is documented in deploy/env.example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"")


def test_every_environment_setting_is_in_env_example() -> None:
    read = set(READ.findall((ROOT / "config" / "settings.py").read_text()))
    assert len(read) > 40, read
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
        if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    }
    assert sorted(read - documented) == []
