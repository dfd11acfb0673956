"""Services send tasks by dotted path (core.tasks.enqueue, enqueue_on_commit), so a typo
would only show when the task is sent: every such path in the code must name a task."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from celery import Task

from core.tasks import task_at

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", "tests", "bench", "node_modules", "var", "artifacts"}
PATH = re.compile(r"^[a-z_]+\.tasks(\.[a-z_]+)+$")


def _sent_paths() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        if SKIP & set(path.relative_to(ROOT).parts) or path == ROOT / "core" / "tasks.py":
            continue  # (core/tasks.py defines the helpers)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("enqueue", "enqueue_on_commit"):
                first = node.args[0]
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path}:{node.lineno}: not a literal path"
                )
                found[first.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_enqueued_path_names_a_task() -> None:
    sent = _sent_paths()
    assert len(sent) >= 8, sent  # webhooks, actions, notify, accounts, qrlogin
    for dotted, where in sent.items():
        assert PATH.match(dotted), (dotted, where)
        assert isinstance(task_at(dotted), Task), (dotted, where)
