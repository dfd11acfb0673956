"""Counts imports between the project's apps: those inside functions (in all, of project
modules, across apps) and the pairs of apps that import each other.

Run: .venv/bin/python scripts/import_graph.py [--pairs] [--edges]
The layer order these numbers measure against is in docs/design.md ("Layers").
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "core",
    "upstream",
    "accounts",
    "qrlogin",
    "ports",
    "actions",
    "webhooks",
    "notify",
    "identity",
    "console",
    "simulator",
    "demo",
    "config",
)


def _app_of_module(name: str) -> str | None:
    head = name.split(".", 1)[0]
    return head if head in APPS else None


def _resolve(node: ast.ImportFrom, module: str) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(tree: ast.AST, module: str):
    """Yields (imported module, inside a function) for each import statement."""

    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

    def walk(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, functions)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, in_function
            elif isinstance(child, ast.ImportFrom):
                yield _resolve(child, module), in_function
            yield from walk(child, inside)

    yield from walk(tree, False)


def measure() -> dict:
    inside_total = 0
    inside_project = 0
    inside_cross = 0
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if "tests" in parts or "migrations" in parts:
                continue
            module = ".".join(parts)
            tree = ast.parse(path.read_text(), str(rel))
            for target, in_function in _imports(tree, module):
                other = _app_of_module(target)
                if in_function:
                    inside_total += 1
                    inside_project += bool(other)
                    if other and other != app:
                        inside_cross += 1
                if other and other != app:
                    edges[(app, other)].append(f"{module} -> {target}")
    pairs = sorted({tuple(sorted(pair)) for pair in edges if (pair[1], pair[0]) in edges})
    return {
        "inside_total": inside_total,
        "inside_project": inside_project,
        "inside_cross": inside_cross,
        "edges": edges,
        "pairs": pairs,
    }


def main(argv: list[str]) -> int:
    result = measure()
    print(
        f"imports inside functions: {result['inside_total']} in all, "
        f"{result['inside_project']} of project modules, {result['inside_cross']} cross-app"
    )
    print(f"two-way app pairs: {len(result['pairs'])}")
    for a, b in result["pairs"]:
        print(f"  {a} <-> {b}")
        if "--pairs" in argv:
            for line in result["edges"][(a, b)] + result["edges"][(b, a)]:
                print(f"      {line}")
    if "--edges" in argv:
        for (a, b), lines in sorted(result["edges"].items()):
            print(f"{a} -> {b}: {len(lines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
