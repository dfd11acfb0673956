"""`make test` pre-flight: fail fast, naming the service that is down and how to start it."""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlparse

HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
}


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    db_url, redis_url = argv[1], argv[2]
    failed = False
    for name, url, port in (("PostgreSQL", db_url, 5432), ("Redis", redis_url, 6379)):
        if not reachable(url, port):
            failed = True
            print(
                f"{name} is not reachable at {url}.\nStart it with:\n  {HINTS[name]}\n",
                file=sys.stderr,
            )
    if failed:
        print(
            "make test needs the real services; it does not fall back to SQLite.", file=sys.stderr
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
