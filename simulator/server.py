"""The simulator's HTTP side: a stdlib ThreadingHTTPServer serving the 29 seed operations
(signed, 401 otherwise) and the unsigned `/_sim/*` controls, plus `start_simulator()` for
tests and bench scripts."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator import vendorauth
from simulator import vendorcodes as vc
from simulator.handlers import BY_PATH, Operation, RawBody, business_fault, busy_fault
from simulator.profiles import Profile, get_profile
from simulator.state import VendorState
from simulator.state.records import BusinessError, Options
from simulator.webhooks import Dispatcher

log = logging.getLogger("simulator")

FAULT_KINDS = ("500", "timeout", "garbage", "business", "busy", "429")
MAX_LOGGED_BODY = 64 * 1024


def mask(value: Any) -> Any:
    """Secret fields masked for the calls log: account keys, proxy credentials."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in vc.SECRET_FIELDS:
                out[key] = "***" if item else item
            elif key == "ipConfig" and isinstance(item, str) and item:
                parts = item.split(":")
                out[key] = ":".join(parts[:2] + ["***"] * len(parts[2:]))
            else:
                out[key] = mask(item)
        return out
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


@dataclass
class Faults:
    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # only these operations (path suffixes); empty means all
    timeout_seconds: float = 15.0
    injected: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def pick(self, path: str) -> str | None:
        if self.rate <= 0 or not self.kinds:
            return None
        if self.paths and not any(path.endswith(p) for p in self.paths):
            return None
        if self.rng.random() >= self.rate:
            return None
        self.injected += 1
        return self.rng.choice(self.kinds)


class NonceGuard:
    """Nonces seen in the last `ttl` seconds (in memory)."""

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._seen: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def __call__(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._order and self._order[0][0] < now - self.ttl:
                _, old = self._order.popleft()
                self._seen.pop(old, None)
            if nonce in self._seen:
                return True
            self._seen[nonce] = now
            self._order.append((now, nonce))
            return False


class Simulator:
    """Everything one running simulator owns: state, deliveries, faults, calls log."""

    def __init__(
        self,
        *,
        webhook_base: str | None = None,
        quirks: bool = False,
        options: Options | None = None,
        demo: bool = False,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        hold_seconds: float = 1.0,
        profile: str = "default",
        senders: int = 8,
    ) -> None:
        self.dispatcher = Dispatcher(
            webhook_base=webhook_base,
            quirks=quirks,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            hold_seconds=hold_seconds,
            senders=senders,
        )
        self.state = VendorState(options=options, sink=self.dispatcher.enqueue)
        self.demo = demo
        if demo:
            self.state.reset(demo=True)
        self.faults = Faults()
        self.calls_log: deque[dict[str, Any]] = deque(maxlen=5000)
        self.calls_lock = threading.Lock()
        self.nonces = NonceGuard()
        self.generation = 0  # bumped by reset(): requests held by a timeout fault are dropped
        self.stopping = threading.Event()
        self.default_webhook_base = webhook_base
        self.default_quirks = quirks
        self.default_backoff = (backoff_base, backoff_cap)
        self.default_hold = hold_seconds
        self.default_profile = get_profile(profile)
        self.set_profile(profile)

    # -------------------------------------------------------------- controls
    def reset(self, *, demo: bool | None = None) -> None:
        self.generation += 1
        self.dispatcher.reset()
        self.dispatcher.webhook_base = self.default_webhook_base
        self.dispatcher.quirks = self.default_quirks
        self.dispatcher.backoff_base, self.dispatcher.backoff_cap = self.default_backoff
        self.dispatcher.hold_seconds = self.default_hold
        self.state.reset(demo=self.demo if demo is None else demo)
        self.set_profile(self.default_profile.name)
        self.faults = Faults()
        with self.calls_lock:
            self.calls_log.clear()

    def set_profile(self, name: str) -> Profile:
        """Play another reading of the seed's open seams (simulator/profiles.py); the state
        and the webhook dispatcher read the same profile."""
        profile = get_profile(name)
        self.profile = profile
        self.state.vendor_profile = profile
        self.dispatcher.vendor_profile = profile
        return profile

    def set_faults(
        self,
        rate: float,
        kinds: list[str] | tuple[str, ...],
        *,
        paths: list[str] | tuple[str, ...] = (),
        timeout_seconds: float | None = None,
        seed: int | None = None,
    ) -> None:
        bad = [k for k in kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; use {FAULT_KINDS}")
        self.faults = Faults(
            rate=float(rate),
            kinds=tuple(kinds),
            paths=tuple(paths),
            timeout_seconds=(
                self.faults.timeout_seconds if timeout_seconds is None else float(timeout_seconds)
            ),
            rng=random.Random(seed),
        )

    def calls(self) -> list[dict[str, Any]]:
        with self.calls_lock:
            return list(self.calls_log)

    def record_call(self, **entry: Any) -> None:
        with self.calls_lock:
            self.calls_log.append(entry)


def verify(sim: Simulator, headers: Any, body: bytes) -> str | None:
    """None when the call is authenticated as the vendor profile wants, otherwise why not
    (simulator/vendorauth.py: the simulator's own implementation, not ours)."""
    return vendorauth.inbound_problem(sim.profile, headers, body, sim.nonces)


def json_content_type(value: str | None) -> bool:
    """The seed gives every operation, GET included, `Content-Type: application/json`
    (parameters such as `charset=UTF-8` may follow)."""
    return (value or "").split(";")[0].strip().lower() == "application/json"


def envelope(data: Any, code: int = 200, message: str = "Success") -> bytes:
    return json.dumps({"code": code, "message": message, "data": data}, ensure_ascii=False).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY a keep-alive client
    # waits out the peer's delayed ACK (~40 ms) on every second request.
    disable_nagle_algorithm = True
    server: SimulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -------------------------------------------------------------- plumbing
    def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json;charset=UTF-8",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        url = urlsplit(self.path)
        raw = self._read_body()
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if url.path == "/_sim" or url.path.startswith("/_sim/"):
                from simulator import controls

                controls.handle(self, sim, method, url.path, query, raw)
                return
            self._vendor(sim, method, url.path, query, raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # never crash the server: a 500 envelope and a log line
            log.exception("simulator: unexpected error on %s %s", method, url.path)
            with contextlib.suppress(OSError):
                self.send(500, envelope(None, 500, "Simulator error"))

    def _vendor(self, sim: Simulator, method: str, path: str, query: dict[str, str], raw: bytes):
        op = BY_PATH.get(path)
        if op is None:
            self.send(404, envelope(None, 404, f"Not Found: {path}"))
            return
        problem = verify(sim, self.headers, raw)
        body_for_log: Any
        parsed: Any = None
        parse_error = ""
        if raw:
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):
                parse_error = "Request body is not valid JSON"
        if len(raw) > MAX_LOGGED_BODY:
            body_for_log = {"_truncated": True, "bytes": len(raw)}
        else:
            body_for_log = mask(parsed) if not parse_error else "<invalid JSON>"
        entry: dict[str, Any] = {
            "path": path,
            "method": method,
            "time": time.time(),
            "query": query,
            "body": body_for_log,
            "operation": op.name,
            "content_type": self.headers.get("Content-Type", "") or "",
        }
        if problem is not None:
            entry["status"] = 401
            sim.record_call(**entry)
            self.send(401, envelope(None, 401, f"Unauthorized: {problem}"))
            return
        if method != op.method:
            entry["status"] = 405
            sim.record_call(**entry)
            self.send(405, envelope(None, 405, f"Method {method} not allowed; use {op.method}"))
            return
        if not json_content_type(self.headers.get("Content-Type")):
            entry["status"] = 415
            sim.record_call(**entry)
            code, message = vc.CONTENT_TYPE
            self.send(415, envelope(None, code, message))
            return
        fault = sim.faults.pick(path)
        entry["fault"] = fault
        sim.record_call(**entry)
        if fault == "500":
            self.send(500, b"Internal Server Error", "text/plain")
            return
        if fault == "429":
            # Rate limited: nothing was done; the gateway asks the caller to wait.
            self.send(429, envelope(None, 429, "Too Many Requests"), extra={"Retry-After": "1"})
            return
        if fault == "garbage":
            self.send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        if fault in ("business", "busy"):
            err = business_fault(op) if fault == "business" else busy_fault()
            self.send(200, envelope(None, err.code, err.message))
            return
        if fault == "timeout":
            # Hold the answer; then do the work (the caller gave up, the vendor did not),
            # unless the simulator was reset or stopped meanwhile (no leak into the next test).
            generation = sim.generation
            if sim.stopping.wait(sim.faults.timeout_seconds) or generation != sim.generation:
                self.close_connection = True
                return
        self.send(200, self._run(sim, op, parsed, parse_error, query))

    def _run(
        self, sim: Simulator, op: Operation, parsed: Any, parse_error: str, query: dict[str, str]
    ) -> bytes:
        if parse_error:
            return envelope(None, 400, parse_error)
        if op.method == "POST":
            if parsed is None:
                parsed = {}
            if not isinstance(parsed, dict):
                return envelope(None, 400, "Request body must be a JSON object")
        else:
            parsed = {}
        try:
            data = op.handler(sim.state, parsed, query)
        except BusinessError as exc:
            return envelope(None, exc.code, exc.message)
        if isinstance(data, RawBody):
            return data.content
        return envelope(data)


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(address, _Handler)


class SimulatorHandle:
    """A running simulator: the HTTP server thread, the ticker and the delivery thread."""

    def __init__(
        self, httpd: SimulatorHTTPServer, sim: Simulator, tick: float = 0.1, churn: float = 0.0
    ) -> None:
        self.httpd = httpd
        self.sim = sim
        self.state = sim.state
        host, port = httpd.server_address[:2]
        self.host, self.port = str(host), int(port)
        self.url = f"http://{self.host}:{self.port}"
        self._stop = threading.Event()
        self._serve = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name="sim-http",
        )
        self._ticker = threading.Thread(
            target=self._tick, args=(tick,), daemon=True, name="sim-tick"
        )
        self._serve.start()
        self._ticker.start()
        if churn > 0:
            threading.Thread(
                target=self._churn, args=(churn,), daemon=True, name="sim-churn"
            ).start()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.state.tick()
            except Exception:
                log.exception("simulator tick failed")

    def _churn(self, every: float) -> None:
        """The demo's living fleet: about every `every` seconds (jittered) one account
        changes, and the vendor's webhooks for it go out."""
        rng = random.Random()
        while not self._stop.wait(every * rng.uniform(0.5, 1.5)):
            try:
                changed = self.state.churn(rng)
                if changed:
                    log.info("simulator: %s is now %s", *changed)
            except Exception:
                log.exception("simulator churn failed")

    # -------------------------------------------------------------- driving
    def reset(self, *, demo: bool | None = None) -> None:
        self.sim.reset(demo=demo)

    def scan(
        self, id: str, whatsapp: str = "", ok: bool = True, task_status: int | None = None
    ) -> dict[str, Any]:
        return self.state.scan(str(id), whatsapp, ok, task_status)

    def set_faults(self, rate: float, kinds: list[str] | tuple[str, ...], **kw: Any) -> None:
        self.sim.set_faults(rate, kinds, **kw)

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        calls = self.sim.calls()
        return [c for c in calls if path is None or c["path"].endswith(path)]

    def set_webhook_base(self, url: str | None) -> None:
        self.sim.dispatcher.webhook_base = url

    def set_action_interval(self, seconds: float) -> None:
        self.state.set_options(action_interval=seconds)

    def set_options(self, **values: Any) -> None:
        self.state.set_options(**values)

    def set_quirks(self, on: bool) -> None:
        self.sim.dispatcher.quirks = bool(on)

    def set_profile(self, name: str) -> Profile:
        """Switch to a vendor profile (simulator/profiles.py); `reset()` goes back to the
        one the simulator started with."""
        return self.sim.set_profile(name)

    def set_backoff(self, base: float, cap: float) -> None:
        self.sim.dispatcher.backoff_base = base
        self.sim.dispatcher.backoff_cap = cap

    def withhold_webhooks(self, *suffixes: str) -> None:
        """Withhold later webhook deliveries whose path ends with one of `suffixes`
        (e.g. "syncLoginStatus"): as if the webhook were lost or refused."""
        self.sim.dispatcher.set_withhold(list(suffixes))

    def release_webhooks(self) -> int:
        """Deliver what was withheld (late)."""
        return self.sim.dispatcher.release_withheld()

    def deliveries(self, path: str | None = None) -> list[dict[str, Any]]:
        rows = self.sim.dispatcher.deliveries()
        return [d for d in rows if path is None or d["path"] == path]

    def wait_deliveries(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook has been delivered (HTTP 200) or skipped."""
        if not self.sim.dispatcher.wait_idle(timeout):
            pending = [d for d in self.deliveries() if d["state"] in ("pending", "held")]
            raise TimeoutError(f"{len(pending)} webhook deliveries still pending: {pending[:3]}")

    def stop(self) -> None:
        self._stop.set()
        self.sim.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.sim.dispatcher.stop()


def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_base: str | None = None,
    *,
    quirks: bool = False,
    demo: bool = False,
    qr_rotate: float | None = None,
    lock_seconds: float | None = None,
    max_ports: int | None = None,
    action_interval: float | None = None,
    action_delay: float | None = None,
    action_login_wait: float | None = None,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    hold_seconds: float = 1.0,
    tick: float = 0.1,
    churn: float = 0.0,
    profile: str = "default",
    senders: int = 8,
) -> SimulatorHandle:
    """Start a simulator in background threads; `.stop()` ends it. Port 0 picks a free one."""
    from django.conf import settings

    options = Options(action_interval=float(settings.ACTION_LANE_INTERVAL))
    for key, value in {
        "qr_rotate": qr_rotate,
        "lock_seconds": lock_seconds,
        "max_ports": max_ports,
        "action_interval": action_interval,
        "action_delay": action_delay,
        "action_login_wait": action_login_wait,
    }.items():
        if value is not None:
            setattr(options, key, type(getattr(options, key))(value))
    sim = Simulator(
        webhook_base=webhook_base,
        quirks=quirks,
        options=options,
        demo=demo,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        hold_seconds=hold_seconds,
        profile=profile,
        senders=senders,
    )
    httpd = SimulatorHTTPServer((host, port), sim)
    return SimulatorHandle(httpd, sim, tick=tick, churn=churn)
