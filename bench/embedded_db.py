"""How fast the embedded PostgreSQL of `make demo` starts, is found, restarts and stops.

Usage: .venv/bin/python bench/embedded_db.py [RUNS]   (each run in a fresh directory)
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import embedded_db


def once() -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="sb-bench-pg-"))
    home.chmod(0o755)
    var = home / "var"
    try:
        t = time.perf_counter()
        embedded_db.ensure_running(var)
        first = time.perf_counter() - t
        t = time.perf_counter()
        embedded_db.ensure_running(var)
        found = time.perf_counter() - t
        t = time.perf_counter()
        embedded_db.stop(var)
        stop = time.perf_counter() - t
        t = time.perf_counter()
        embedded_db.ensure_running(var)
        restart = time.perf_counter() - t
        embedded_db.stop(var)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"first": first, "found": found, "stop": stop, "restart": restart}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = [once() for _ in range(runs)]
    for key, unit, scale in (
        ("first", "s", 1),
        ("found", "ms", 1000),
        ("restart", "s", 1),
        ("stop", "s", 1),
    ):
        values = [r[key] * scale for r in results]
        print(
            f"{key:<8} median {statistics.median(values):8.3f} {unit}  "
            f"min {min(values):8.3f}  max {max(values):8.3f}  (n={runs})"
        )


if __name__ == "__main__":
    main()
