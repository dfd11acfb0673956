"""The kill scenarios of bench/faults.py, small (docs/testing.md, "Restart scenarios"): each
runs as the bench does, in a process of its own with its own PostgreSQL and Redis, and must
end with its verdict: the web killed with streams open (every stream back, every change
shown), a worker killed mid-lane (every vendor call once per item, everything final), the
broker taken away from a worker (it takes tasks again). The full-size runs are the saved
figures under artifacts/bench/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# One xdist worker runs them one after another (each starts its own servers); without
# xdist the group marker is unknown to --strict-markers.
pytestmark = [pytest.mark.slow]
if os.environ.get("PYTEST_XDIST_WORKER"):
    pytestmark.append(pytest.mark.xdist_group("fault-scenarios"))


def _scenario(*args: str, timeout: float) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "bench/faults.py", "--scenario", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out = done.stdout
    assert done.returncode == 0, (out[-3000:], done.stderr[-3000:])
    figures = {}
    for line in out.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep:
            figures[key] = value
    assert "FAILED" not in figures.get("verdict", "FAILED"), out[-3000:]
    return figures


@pytest.mark.timeout(600)
def test_web_killed_with_streams_open() -> None:
    f = _scenario(
        "web-kill-streams",
        *("--streams", "10", "--accounts", "12", "--changes", "4", "--down", "2"),
        *("--browsers", "1"),
        timeout=540,
    )
    assert f["streams_reopened"] == "10/10"
    assert (f["lost"], f["rows_wrong"], f["browser_rows_wrong"]) == ("0", "0", "0")
    assert f["browsers_went_down_then_open"] == "1"


@pytest.mark.timeout(600)
def test_worker_killed_mid_lane() -> None:
    f = _scenario(
        "worker-kill-lane",
        *("--lanes", "2", "--per-lane", "3", "--accounts", "60", "--down", "2"),
        timeout=540,
    )
    assert f["finished"] == "True"
    assert (f["lost"], f["applied_twice"], f["failed_without_reason"]) == ("0", "0", "0")


@pytest.mark.timeout(400)
def test_worker_takes_tasks_again_after_its_broker_vanished() -> None:
    f = _scenario("broker-vanish-worker", "--down", "3", timeout=340)
    assert f["kill_hung_silently"] == "False" and f["freeze_hung_silently"] == "False"
