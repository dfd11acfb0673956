"""Every folder that holds tests is collected: a new app cannot fall out of `make test`."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Never part of the project's sources: the environment, runtime data, saved figures.
NOT_SOURCES = {".venv", "var", "artifacts", "node_modules", ".git"}


def _pytest_options() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        options: dict[str, object] = tomllib.load(handle)["tool"]["pytest"]["ini_options"]
    return options


def _folders_with_tests() -> set[Path]:
    folders = set()
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [name for name in subdirs if name not in NOT_SOURCES]
        if any(name.startswith("test_") and name.endswith(".py") for name in files):
            folders.add(Path(directory).relative_to(ROOT))
    return folders


def _collected(folder: Path, testpaths: list[str], norecurse: list[str]) -> bool:
    for testpath in testpaths:
        base = Path(testpath)
        if base != Path(".") and base not in (folder, *folder.parents):
            continue
        below = folder.relative_to(base) if base != Path(".") else folder
        if not any(fnmatch.fnmatch(part, pattern) for part in below.parts for pattern in norecurse):
            return True
    return False


def test_every_folder_with_tests_is_collected() -> None:
    options = _pytest_options()
    testpaths = list(options.get("testpaths", ["."]))  # type: ignore[call-overload]
    norecurse = list(options.get("norecursedirs", []))  # type: ignore[call-overload]
    folders = _folders_with_tests()
    assert Path("notify/tests") in folders and Path("tests") in folders  # the walk sees the tree
    missed = sorted(
        str(folder) for folder in folders if not _collected(folder, testpaths, norecurse)
    )
    assert not missed, f"folders with tests that pytest does not collect: {missed}"


def test_the_rule_catches_a_folder_left_out() -> None:
    """The check above can fail: the old list of apps misses notify and demo."""
    old = ["tests", "core", "upstream", "simulator", "accounts", "qrlogin", "actions", "webhooks"]
    assert not _collected(Path("notify/tests"), old, [])
    assert not _collected(Path("demo/tests"), old, [])
    assert _collected(Path("tests/browser"), old, [])
    assert not _collected(Path("app/tests"), ["."], ["app"])
