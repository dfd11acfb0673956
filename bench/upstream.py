"""Figures for the upstream door. Run: `.venv/bin/python bench/upstream.py`.

1. The client's overhead per call, as a ratio to a bare signed `requests` call on the same
   simulator with the same session settings (select_cloud_port, interleaved rounds).
2. The simulator's throughput for queryWhatsAppStatus with 50,000 accounts loaded (calls/s
   and MB/s, bare HTTP), and the client's end-to-end rate for it (HTTP + parsing 50,000
   records into typed objects).

Options: --calls N (default 2000), --accounts N (default 50000), --seconds S per
throughput figure (default 8), --threads T for the concurrent throughput figure (default 4).
The cache (the breaker's shared state) is Redis when CACHE_URL is set or Redis answers on
127.0.0.1:6379, else Django's local-memory cache; the figure says which.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path and would shadow the
# `upstream` package with this very file: put the project root first instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def setup() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # one INFO line per call is not the client
    if "CACHE_URL" not in os.environ:
        os.environ["CACHE_URL"] = (
            "rediscache://127.0.0.1:6379/15" if _redis_up() else "locmemcache://"
        )
    os.environ.setdefault("CACHE_KEY_PREFIX", f"bench-upstream-{os.getpid()}")
    import django

    django.setup()
    return os.environ["CACHE_URL"].split(":", 1)[0]


# The simulator's handler writes headers and body in two writes; without TCP_NODELAY on its
# side every keep-alive answer waits ~40 ms for a delayed ACK (Nagle), which would swamp
# what is measured here. The bench sets it when the simulator does not (and says so).
SIM_SCRIPT = """
import sys, django
django.setup()
from simulator import server
note = "simulator sets TCP_NODELAY itself"
if not getattr(server._Handler, "disable_nagle_algorithm", False):
    server._Handler.disable_nagle_algorithm = True
    note = "TCP_NODELAY set on the simulator by the bench"
print(note, flush=True)
from django.core.management import call_command
call_command("simulate_upstream", "--port", sys.argv[1], "--empty")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(url: str, timeout: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url + "/_sim/calls", timeout=1)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    cache_kind = setup()

    import requests
    from django.conf import settings
    from requests.adapters import HTTPAdapter

    from upstream import breaker, client, operations
    from upstream.signing import get_signer
    from upstream.types import AccountItem

    port = _free_port()
    sim_proc = subprocess.Popen(  # the simulator in its own process, as in production
        [sys.executable, "-c", SIM_SCRIPT, str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert sim_proc.stdout is not None
    banner = sim_proc.stdout.readline().strip()
    sim_url = f"http://127.0.0.1:{port}"
    settings.UPSTREAM_BASE_URL = sim_url
    breaker.reset()
    try:
        _wait_up(sim_url)
        bare = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        bare.mount("http://", adapter)
        bare.trust_env = False
        timeouts = client.timeouts()
        signer = get_signer()
        key, secret = settings.UPSTREAM_API_KEY, settings.UPSTREAM_API_SECRET

        def bare_get(path: str) -> requests.Response:
            headers = signer.sign(api_key=key, secret=secret, body=b"")
            response = bare.get(sim_url + path, headers=headers, timeout=timeouts)
            response.raise_for_status()
            return response

        port_path = operations.ENDPOINTS["select_cloud_port"].path
        status_path = operations.ENDPOINTS["query_whatsapp_status"].path

        def run_client(n: int) -> float:
            started = time.perf_counter()
            for _ in range(n):
                operations.select_cloud_port()
            return time.perf_counter() - started

        def run_bare(n: int) -> float:
            started = time.perf_counter()
            for _ in range(n):
                bare_get(port_path).json()
            return time.perf_counter() - started

        # ---- 1. overhead per call ---------------------------------------------------------
        run_client(200)
        run_bare(200)
        rounds = 20
        per_round = max(1, args.calls // rounds)
        client_times, bare_times = [], []
        for i in range(rounds):  # interleaved, alternating who goes first
            if i % 2:
                bare_times.append(run_bare(per_round))
                client_times.append(run_client(per_round))
            else:
                client_times.append(run_client(per_round))
                bare_times.append(run_bare(per_round))
        n = per_round * rounds
        client_us = sum(client_times) / n * 1e6
        bare_us = sum(bare_times) / n * 1e6
        best_client = min(client_times) / per_round * 1e6
        best_bare = min(bare_times) / per_round * 1e6
        ratios = [c / b for c, b in zip(client_times, bare_times, strict=True)]
        print(f"# upstream client overhead: select_cloud_port, {n} calls each in {rounds} "
              f"interleaved rounds, breaker cache={cache_kind}")  # fmt: skip
        print(f"# {banner}")
        print(f"bare signed requests.get + .json():  mean {bare_us:7.1f} us/call, "
              f"best round {best_bare:7.1f}")  # fmt: skip
        print(f"upstream.operations.select_cloud_port: mean {client_us:7.1f} us/call, "
              f"best round {best_client:7.1f}")  # fmt: skip
        median_ratio, mean_ratio = statistics.median(ratios), client_us / bare_us
        print(f"ratio client / bare: median of rounds {median_ratio:.2f}x, "
              f"means {mean_ratio:.2f}x, best rounds {best_client / best_bare:.2f}x")  # fmt: skip
        print(f"client overhead: {client_us - bare_us:.1f} us/call (means), "
              f"{best_client - best_bare:.1f} us/call (best rounds)")  # fmt: skip

        # ---- 2. queryWhatsAppStatus with many accounts --------------------------------------
        rows = [
            {"whatsApp": f"86{1_300_000_0000 + i}", "name": f"a{i}"} for i in range(args.accounts)
        ]
        started = time.perf_counter()
        for i in range(0, len(rows), 1000):
            operations.batch_insert(
                accounts=[
                    AccountItem(
                        whatsapp=r["whatsApp"],
                        name=r["name"],
                        public_key="pk",
                        private_key="sk",
                        msg_public_key="mpk",
                        msg_private_key="msk",
                        account_id=f"id{i}",
                    )
                    for r in rows[i : i + 1000]
                ]
            )
        took = time.perf_counter() - started
        print()
        print(f"# loaded {len(rows)} accounts with batch_insert (1000 per call) in {took:.1f} s")
        body = bare_get(status_path).content
        size_mb = len(body) / 1e6
        print(f"# simulator queryWhatsAppStatus, {args.accounts} accounts, answer {size_mb:.2f} MB")

        def throughput(fn: object, seconds: float, threads: int = 1) -> tuple[int, float]:
            count = [0]
            lock = threading.Lock()
            deadline = time.perf_counter() + seconds

            def worker() -> None:
                done = 0
                while time.perf_counter() < deadline:
                    fn()  # type: ignore[operator]
                    done += 1
                with lock:
                    count[0] += done

            started = time.perf_counter()
            pool = [threading.Thread(target=worker) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            return count[0], time.perf_counter() - started

        calls, took = throughput(lambda: bare_get(status_path).content, args.seconds)
        rate, mbps = calls / took, calls * size_mb / took
        print(f"bare HTTP, 1 client:       {rate:7.1f} calls/s  {mbps:8.1f} MB/s")
        calls, took = throughput(
            lambda: bare_get(status_path).content, args.seconds, threads=args.threads
        )
        print(
            f"bare HTTP, {args.threads} threads:       {calls / took:7.1f} calls/s  "
            f"{calls * size_mb / took:8.1f} MB/s"
        )
        calls, took = throughput(operations.query_whatsapp_status, args.seconds)
        parsed = len(operations.query_whatsapp_status())
        rate, mbps = calls / took, calls * size_mb / took
        print(f"client + parse, 1 client:  {rate:7.1f} calls/s  {mbps:8.1f} MB/s", end="")
        print(f" ({parsed} typed records per call)")
        print(f"(cpus: {os.cpu_count()}; simulator in its own process: {banner[:60]})")
    finally:
        breaker.reset()
        sim_proc.terminate()
        sim_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
