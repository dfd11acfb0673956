"""The embedded PostgreSQL: started on first use with a `switchboard` database, found
again without a second server, stopped and restarted in the same process."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from core import embedded_db


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # Not under pytest's basetemp (reset to 0700 by every session): the server runs as its
    # own user when we are root and must reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="sb-embedded-test-"))
    home.chmod(0o755)
    try:
        yield home / "var"
    finally:
        embedded_db.stop(home / "var")
        shutil.rmtree(home, ignore_errors=True)


def _postmaster(var_dir: Path) -> int:
    return int((var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])


def test_start_find_stop_restart(var_dir: Path) -> None:
    settings = embedded_db.ensure_running(var_dir)
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["NAME"] == "switchboard" and settings["PORT"] == ""
    with psycopg.connect(host=settings["HOST"], user="postgres", dbname="switchboard") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("switchboard",)
    first = _postmaster(var_dir)

    assert embedded_db.ensure_running(var_dir) == settings  # found, not started twice
    assert _postmaster(var_dir) == first

    assert embedded_db.stop(var_dir) is True
    assert not psutil.pid_exists(first)
    assert embedded_db.stop(var_dir) is False  # nothing left to stop

    again = embedded_db.ensure_running(var_dir)
    with psycopg.connect(host=again["HOST"], user="postgres", dbname="switchboard") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _postmaster(var_dir) != first
