"""The transport: the only module in Switchboard that sends HTTP to the vendor.

One `requests.Session` (module level, connection pooling, no automatic retries: retries
belong to Celery), explicit connect/read timeouts, every request signed over the exact
bytes sent, the circuit breaker around every call, one log line and metrics per call.
Bodies are never logged.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from upstream import breaker, metrics
from upstream.codes import Family, is_transient, message_for
from upstream.errors import (
    CircuitOpen,
    NotSent,
    SlowDown,
    UpstreamError,
    UpstreamUnavailable,
    VendorBusy,
)
from upstream.parsing import as_int, as_text
from upstream.signing import outbound_headers

log = logging.getLogger("upstream")

OK = 200
GC_PAUSE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Endpoint:
    """One seed operation: its function name, HTTP method, path and code-table family."""

    operation: str
    method: str  # "GET" or "POST"
    path: str
    family: Family


def _never_connected(exc: requests.RequestException) -> bool:
    """True when no connection was ever made, so no byte of the request left: a connect
    timeout, or a refused / unresolvable connection (urllib3's NewConnectionError)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # requests wraps urllib3's MaxRetryError
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


class UnexpectedResponse(UpstreamUnavailable):
    """The vendor answered 200 with a body we cannot read (not JSON, not an envelope, or a
    `data` of the wrong shape). That call's error (shown, logged, counted; tasks may retry
    it), never a breaker failure: the vendor is up, this one answer is odd."""


# Outcomes that mean the vendor is down or unreachable: only these count against the
# breaker (docs/upstream.md). A 429 pauses every call on its own (`breaker.slow_down`).
OUTAGES = frozenset({"timeout", "unavailable"})
# The vendor answered: whatever the body said, it is up, so a failure streak ends here.
ANSWERED = frozenset({"ok", "business_error", "auth_error", "busy", "bad_response"})


_session: requests.Session | None = None
_session_lock = threading.Lock()


def session() -> requests.Session:
    """The shared session (created on first use; safe to share between threads for the
    plain request/response calls made here)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                s = requests.Session()
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
                s.mount("http://", adapter)
                s.mount("https://", adapter)
                s.headers.update({"Accept": "application/json", "User-Agent": "switchboard"})
                s.trust_env = False  # no proxy from the environment for the vendor
                _session = s
    return _session


def timeouts() -> tuple[float, float]:
    return (float(settings.UPSTREAM_CONNECT_TIMEOUT), float(settings.UPSTREAM_READ_TIMEOUT))


def url_for(path: str) -> str:
    return settings.UPSTREAM_BASE_URL.rstrip("/") + "/" + path.lstrip("/")


def encode_body(body: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(raw: bytes) -> dict[str, str]:
    headers = outbound_headers(raw)  # per UPSTREAM_AUTH (upstream/signing.py)
    # The seed gives every operation, GET included, "Content-Type: application/json".
    headers["Content-Type"] = "application/json"
    return headers


@contextmanager
def _gc_paused(size: int) -> Iterator[None]:
    """Decoding and parsing a large answer (queryWhatsAppStatus with the whole fleet) makes
    hundreds of thousands of objects; the cyclic GC would rescan the whole heap many times
    meanwhile (2-3x slower). Pause it for big bodies only; they are plain trees, no cycles."""
    if size < GC_PAUSE_BYTES or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def call(
    endpoint: Endpoint,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    parse: Callable[[Any], Any] | None = None,
) -> Any:
    """Send one operation and return the envelope's `data`, or `parse(data)` when given (a
    parser's UnexpectedResponse then counts as a bad response, like a non-envelope).

    Raises CircuitOpen (not sent), UpstreamUnavailable (timeout, connection error, 5xx,
    not JSON, not an envelope) or UpstreamError (envelope code != 200, HTTP 401/403/4xx).
    """
    op = endpoint.operation
    wait = breaker.slow_down_remaining()
    if wait > 0:
        metrics.record_call(op, "rate_limited", None)
        raise SlowDown(f"upstream {op}: rate limited, retry in {wait:.0f} s", retry_after=wait)
    try:
        ticket = breaker.before_call(op)
    except CircuitOpen as exc:
        metrics.record_call(op, "circuit_open", None)
        log.warning("upstream %s outcome=circuit_open status=- ms=0", op)
        exc.described(kind="circuit_open", operation=op)
        raise
    raw = b"" if endpoint.method == "GET" else encode_body(body if body is not None else {})
    started = time.perf_counter()
    status: int | str = "-"
    outcome = "error"  # our own bug (e.g. the signer): neither success nor vendor failure
    try:
        try:
            response = session().request(
                endpoint.method,
                url_for(endpoint.path),
                data=raw or None,
                params=params,
                headers=signed_headers(raw),
                timeout=timeouts(),
                allow_redirects=False,
            )
            content = response.content
        except requests.Timeout as exc:
            outcome = "timeout"
            error = NotSent if _never_connected(exc) else UpstreamUnavailable
            raise error(f"upstream {op}: timed out").described(
                kind="timeout", operation=op
            ) from exc
        except requests.RequestException as exc:
            outcome = "unavailable"
            error = NotSent if _never_connected(exc) else UpstreamUnavailable
            raise error(f"upstream {op}: {type(exc).__name__}").described(
                kind="connection", operation=op
            ) from exc
        status = response.status_code
        if status == 429:  # "slow down": not a failure, nothing was done
            outcome = "rate_limited"
            wait = breaker.slow_down(response.headers.get("Retry-After", ""))
            raise SlowDown(f"upstream {op}: HTTP 429, retry in {wait:.0f} s", retry_after=wait)
        try:
            with _gc_paused(len(content)):
                data = _read_envelope(endpoint, response.status_code, content)
                if parse is not None:
                    data = parse(data)
        except UnexpectedResponse as exc:
            outcome = "bad_response"
            exc.described(kind="bad_response", operation=op)
            raise
        except VendorBusy:
            outcome = "busy"
            raise
        except UpstreamUnavailable:
            outcome = "unavailable"
            raise
        except UpstreamError as exc:
            outcome = "auth_error" if exc.code in (401, 403) else "business_error"
            raise
        outcome = "ok"
        return data
    finally:
        elapsed = time.perf_counter() - started
        if outcome in OUTAGES:
            breaker.record_failure(ticket)
        elif outcome in ANSWERED:
            breaker.record_success(ticket)
        elif ticket.probe:  # 429 (its own shared pause) or our own bug: no verdict
            breaker.release_probe()
        metrics.record_call(op, outcome, elapsed)
        level = logging.INFO if outcome == "ok" else logging.WARNING
        if log.isEnabledFor(level):
            log.log(
                level,
                "upstream %s outcome=%s status=%s ms=%.1f",
                op,
                outcome,
                status,
                elapsed * 1000,
            )


def _read_envelope(endpoint: Endpoint, http_status: int, content: bytes) -> Any:
    op = endpoint.operation
    if http_status >= 500 or http_status in (408, 429):
        raise UpstreamUnavailable(f"upstream {op}: HTTP {http_status}").described(
            kind="http_error", operation=op, http_status=http_status
        )
    try:
        envelope = json.loads(content)
    except (ValueError, RecursionError):
        envelope = None
    if http_status in (401, 403):
        vendor_message = _envelope_message(envelope)
        raise UpstreamError(
            http_status,
            message_for(endpoint.family, http_status, vendor_message),
            operation=op,
            vendor_message=vendor_message,
        )
    if not isinstance(envelope, dict) or "code" not in envelope:
        if 400 <= http_status < 500:
            raise UpstreamError(
                http_status,
                message_for(endpoint.family, http_status, ""),
                operation=op,
            )
        raise UnexpectedResponse(f"upstream {op}: the answer is not a JSON envelope")
    code = as_int(envelope.get("code"))
    if code != OK:
        vendor_message = _envelope_message(envelope)
        if is_transient(endpoint.family, code, vendor_message):
            raise VendorBusy(
                code if code is not None else "?", vendor_message, operation=op
            ).described(kind="busy", operation=op)
        raise UpstreamError(
            code if code is not None else as_text(envelope.get("code")) or "?",
            message_for(endpoint.family, code, vendor_message),
            operation=op,
            vendor_message=vendor_message,
        )
    if http_status >= 300:
        raise UpstreamError(
            http_status, message_for(endpoint.family, http_status, ""), operation=op
        )
    return envelope.get("data")


def _envelope_message(envelope: Any) -> str:
    if isinstance(envelope, dict):
        return as_text(envelope.get("message") or envelope.get("msg")).strip()[:500]
    return ""


def ping() -> None:
    """Reachability for /healthz: any HTTP answer counts. Bypasses the breaker (it must
    report reality) and sends nothing signed."""
    try:
        session().get(url_for("/"), timeout=(1.0, 2.0), allow_redirects=False)
    except requests.RequestException as exc:
        raise UpstreamUnavailable(f"upstream unreachable: {type(exc).__name__}") from exc


def probe(endpoint: Endpoint, *, body: Any = None) -> tuple[int, bytes]:
    """One signed request for a diagnosis (`upstream.diagnose`): the HTTP status and the raw
    answer. It bypasses the breaker (a diagnosis must report reality) and lets the transport's
    exceptions through unchanged, so the caller can say exactly what failed."""
    raw = b"" if endpoint.method == "GET" else encode_body(body if body is not None else {})
    response = session().request(
        endpoint.method,
        url_for(endpoint.path),
        data=raw or None,
        headers=signed_headers(raw),
        timeout=timeouts(),
        allow_redirects=False,
    )
    return response.status_code, response.content
