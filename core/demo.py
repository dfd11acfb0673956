"""`make demo`: run the web server, a Celery worker, beat and the simulator together,
print where to go, and stop them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WEB_PORT = int(os.environ.get("DEMO_WEB_PORT", "8000"))
SIM_PORT = int(os.environ.get("DEMO_SIM_PORT", "8001"))


def commands() -> list[tuple[str, list[str]]]:
    env_db = os.environ.get("DATABASE_URL", "")
    # SQLite allows one writer: keep the embedded demo's worker to a few threads.
    concurrency = "8" if env_db.startswith("postgres") else "2"
    procs = [
        ("web", [PY, "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"]),
        (
            "worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "fast,slow",
                "--pool",
                "threads",
                "--concurrency",
                concurrency,
                "--loglevel",
                "INFO",
            ],
        ),
        ("beat", [PY, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]),
    ]
    if (ROOT / "simulator" / "management" / "commands" / "simulate_upstream.py").exists():
        procs.append(
            (
                "simulator",
                [
                    PY,
                    "manage.py",
                    "simulate_upstream",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(SIM_PORT),
                    "--webhook-base",
                    f"http://127.0.0.1:{WEB_PORT}",
                ],
            )
        )
    return procs


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the demo runner dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main() -> int:
    env = dict(os.environ)
    env.setdefault("UPSTREAM_BASE_URL", f"http://127.0.0.1:{SIM_PORT}")
    env.setdefault("DEBUG", "true")
    env.setdefault("LOG_JSON", "false")
    running: list[tuple[str, subprocess.Popen[bytes]]] = []
    for name, cmd in commands():
        running.append(
            (name, subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_die_with_parent))  # noqa: S603
        )
    print(
        "\nSwitchboard demo is starting:\n"
        f"  console    http://127.0.0.1:{WEB_PORT}/\n"
        f"  API docs   http://127.0.0.1:{WEB_PORT}/api/v1/docs/\n"
        f"  health     http://127.0.0.1:{WEB_PORT}/healthz\n"
        f"  simulator  http://127.0.0.1:{SIM_PORT}/_sim/   (scan, ban, disconnect with a click)\n"
        "Press Ctrl-C to stop everything.\n",
        flush=True,
    )

    def stop(*_: object) -> None:
        for _name, proc in running:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 10
        for _name, proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_term(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    try:
        while True:
            if os.getppid() != parent:  # make (or the terminal) went away: clean up
                stop()
                return 0
            for name, proc in running:
                if proc.poll() is not None:
                    print(
                        f"demo: {name} exited with {proc.returncode}; stopping the rest", flush=True
                    )
                    stop()
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\ndemo: stopping…", flush=True)
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
