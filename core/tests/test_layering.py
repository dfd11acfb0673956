"""core/ is the ground floor: no module of it imports a domain app (nor config, which wires
them; the whole order is `lint-imports`'s, docs/design.md "Layers").

Domain apps plug into core through its registries (health checks, nav badges, deployment
checks, /metrics gauges), never the other way round. Every import counts, including those
inside functions and under TYPE_CHECKING: each is a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent
DOMAIN_APPS = frozenset(
    {
        "accounts",
        "actions",
        "config",
        "console",
        "demo",
        "identity",
        "notify",
        "ports",
        "qrlogin",
        "simulator",
        "upstream",
        "webhooks",
    }
)


def _core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "tests" not in p.relative_to(CORE).parts)


def domain_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in DOMAIN_APPS]
    return found


def test_core_imports_no_domain_app() -> None:
    offenders = {
        str(path.relative_to(CORE)): found
        for path in _core_modules()
        if (found := domain_imports(path))
    }
    assert offenders == {}
