"""`make demo`: the whole product on one machine with no servers installed.

It starts the embedded PostgreSQL (unless DATABASE_URL is set), migrates, starts the
simulator (which keeps the fleet moving), the web server and a Celery worker, seeds the
demo (users, fleet with keys, a week of history, a working day's activity: all through
the real services), starts beat, prints where to go, and on Ctrl-C (or when make dies)
stops everything, the database included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core import embedded_db

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WEB_PORT = int(os.environ.get("DEMO_WEB_PORT", "8000"))
SIM_PORT = int(os.environ.get("DEMO_SIM_PORT", "8001"))
# Seconds between the simulator's random fleet changes (0: none).
CHURN = os.environ.get("DEMO_CHURN_SECONDS", "60")


def _manage(*args: str) -> list[str]:
    return [PY, "manage.py", *args]


def worker_command(*, concurrency: int) -> list[str]:
    """A Celery worker on both queues in one process (threads): quick to start and to
    stop, for a whole stack on one machine (the demo, the QR login bench)."""
    return [
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
        str(concurrency),
        "--loglevel",
        "WARNING",
    ]


def path_token() -> str:
    """The demo's webhook path token (WEBHOOK_AUTH=path-token): kept in var/, made once."""
    import secrets

    path = embedded_db.var_dir() / "webhook-path-token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def webhook_env(env: dict[str, str]) -> dict[str, str]:
    """The demo receives webhooks as production does: under a secret path token (and signed,
    as the simulator's default profile signs them). What the environment sets wins."""
    env.setdefault("WEBHOOK_AUTH", "path-token,hmac")
    env.setdefault("WEBHOOK_PATH_TOKEN", path_token())
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{WEB_PORT}")
    return env


def callback_base(env: dict[str, str]) -> str:
    """The base the simulator (the vendor) is given: what `vendor_check --callbacks` prints."""
    base = env["PUBLIC_BASE_URL"].rstrip("/")
    if "path-token" in env.get("WEBHOOK_AUTH", ""):
        base += f"/hooks/{env['WEBHOOK_PATH_TOKEN']}"
    return base


def services(env: dict[str, str] | None = None) -> dict[str, list[str]]:
    env = webhook_env(dict(os.environ) if env is None else env)
    return {
        "simulator": _manage(
            "simulate_upstream",
            "--host",
            "127.0.0.1",
            "--port",
            str(SIM_PORT),
            "--webhook-base",
            callback_base(env),
            "--churn",
            CHURN,
        ),
        # ASGI (uvicorn), as in production: the pages' live stream needs it. One worker
        # starts in about a second; static files come from WhiteNoise.
        "web": [
            PY,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(WEB_PORT),
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "3",
        ],
        "worker": worker_command(concurrency=8),
        "beat": [PY, "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING"],
    }


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the demo runner dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own servers
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class Stack:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str) -> None:
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            services(self.env)[name], cwd=ROOT, env=self.env, preexec_fn=_die_with_parent
        )
        self.running.append((name, proc))

    def run(self, *args: str) -> None:
        subprocess.run(_manage(*args), cwd=ROOT, env=self.env, check=True)  # noqa: S603

    def dead(self) -> tuple[str, int] | None:
        for name, proc in self.running:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop(self) -> None:
        for _name, proc in reversed(self.running):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 10
        for _name, proc in self.running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if not self.env.get("DATABASE_URL"):
            embedded_db.stop(embedded_db.var_dir())


def main() -> int:
    for port in (WEB_PORT, SIM_PORT):
        if not _port_free(port):
            print(
                f"demo: port {port} is in use. Stop what uses it, or choose other ports: "
                "make demo DEMO_WEB_PORT=8100 DEMO_SIM_PORT=8101",
                file=sys.stderr,
            )
            return 2
    env = dict(os.environ)
    env.setdefault("UPSTREAM_BASE_URL", f"http://127.0.0.1:{SIM_PORT}")
    # DEBUG stays off so people see the real 403/404/500 pages, not Django's debug pages.
    env.setdefault("DEBUG", "false")
    env.setdefault("LOG_JSON", "false")
    env.setdefault("LOG_ACCESS", "false")  # the terminal shows what matters, not every request
    # The demo users sign in with their password alone (docs/demo.md); a second factor can
    # be added on the Security page. Production's default asks admins and supervisors for one.
    env.setdefault("MFA_REQUIRED_ROLES", "")
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    webhook_env(env)
    started = time.monotonic()
    stack = Stack(env)
    # Both set explicitly: a shell that starts make in the background leaves SIGINT ignored
    # in its children, and Ctrl-C or `kill -INT` must still stop everything.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        if not env.get("DATABASE_URL"):
            print("demo: starting the embedded PostgreSQL under var/pgdata", flush=True)
            embedded_db.ensure_running(embedded_db.var_dir())
        stack.run("migrate", "--noinput", "-v", "0")
        stack.run("collectstatic", "--noinput", "-v", "0")  # pages name hashed files
        stack.start("simulator")
        stack.start("web")
        _wait_http(f"http://127.0.0.1:{SIM_PORT}/_sim/state")
        _wait_http(f"http://127.0.0.1:{WEB_PORT}/login/")
        print(f"demo: first page served after {time.monotonic() - started:.1f} s", flush=True)
        stack.run("demo_seed", "--users")  # the only path that creates the demo users
        stack.start("worker")
        stack.run("demo_seed", "--activity")
        stack.start("beat")
        print(
            "\nSwitchboard demo is running:\n"
            f"  console    http://127.0.0.1:{WEB_PORT}/\n"
            f"  API docs   http://127.0.0.1:{WEB_PORT}/api/v1/docs/\n"
            f"  health     http://127.0.0.1:{WEB_PORT}/healthz\n"
            f"  simulator  http://127.0.0.1:{SIM_PORT}/_sim/  (scan, ban, disconnect)\n"
            f"Ready after {time.monotonic() - started:.1f} s. Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        parent = os.getppid()
        while True:
            if os.getppid() != parent:  # make (or the terminal) went away: clean up
                break
            dead = stack.dead()
            if dead:
                print(f"demo: {dead[0]} exited with {dead[1]}; stopping the rest", flush=True)
                stack.stop()
                return dead[1] or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\ndemo: stopping…", flush=True)
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"demo: {exc}; stopping", file=sys.stderr, flush=True)
        stack.stop()
        return 1
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
