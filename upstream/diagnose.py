"""Vendor connection check (`manage.py vendor_check` and the admin page "Vendor connection").

Calls the read-only operations queryWhatsAppStatus, selectCloudPort, selectPairTarget and
queryAllOlWhatsAppInfo, each signed as usual but outside the circuit breaker, and says what
came back or exactly why not: DNS, connection, TLS, timeout, HTTP status, envelope code, or
an answer we cannot read.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import NameResolutionError

from upstream import operations
from upstream.client import UnexpectedResponse, probe
from upstream.codes import message_for
from upstream.parsing import as_int, as_text

CHECKED: tuple[str, ...] = (
    "query_whatsapp_status",
    "select_cloud_port",
    "select_pair_target",
    "query_all_ol_whatsapp_info",
)


@dataclass(frozen=True)
class CheckResult:
    operation: str  # our name, e.g. query_whatsapp_status
    path: str  # the vendor's path
    ok: bool
    problem: str  # "", dns, connection, tls, timeout, http, envelope, bad_answer, config
    detail: str  # what came back, or exactly why not

    @property
    def vendor_name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what it wraps (requests -> urllib3 -> socket) and its causes."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nxt in (getattr(item, "reason", None), item.__cause__, item.__context__, *item.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _host() -> str:
    return urlsplit(settings.UPSTREAM_BASE_URL).hostname or settings.UPSTREAM_BASE_URL


def _transport_problem(exc: requests.RequestException) -> tuple[str, str]:
    chain = list(_chain(exc))
    host = _host()
    if any(isinstance(e, NameResolutionError | socket.gaierror) for e in chain):
        return "dns", _("DNS: the name %(host)s does not resolve") % {"host": host}
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(e, ssl.SSLError) for e in chain
    ):
        reason = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), str(exc))
        return "tls", _("TLS: the secure connection to %(host)s failed (%(reason)s)") % {
            "host": host,
            "reason": reason[:200],
        }
    if isinstance(exc, requests.ConnectTimeout):
        return "connection", _("Connection: %(host)s did not accept a connection in time") % {
            "host": host
        }
    if isinstance(exc, requests.Timeout):
        return "timeout", _("Timeout: connected, but no answer within %(s)s s") % {
            "s": settings.UPSTREAM_READ_TIMEOUT
        }
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection", _("Connection: %(host)s refused the connection") % {"host": host}
    if isinstance(exc, requests.ConnectionError):
        root = next((e for e in reversed(chain) if isinstance(e, OSError)), exc)
        return "connection", _("Connection: %(host)s could not be reached (%(kind)s)") % {
            "host": host,
            "kind": type(root).__name__,
        }
    return "config", _("Request failed: %(kind)s") % {"kind": type(exc).__name__}


def _summary(operation: str, data: Any) -> str:
    if operation == "query_whatsapp_status":
        return _("%(n)s accounts") % {"n": len(data)}
    if operation == "select_cloud_port":
        return _("ports in use %(current)s of %(max)s") % {
            "current": data.current_port,
            "max": data.max_port,
        }
    if operation == "select_pair_target":
        return _("%(n)s pairing targets") % {"n": len(data)}
    agents = sum(len(group.agents) for group in data)
    accounts = sum(len(a.whatsapps) for group in data for a in group.agents)
    return _("%(agents)s online agents, %(accounts)s online accounts") % {
        "agents": agents,
        "accounts": accounts,
    }


def _check(operation: str) -> CheckResult:
    endpoint = operations.ENDPOINTS[operation]

    def fail(problem: str, detail: str) -> CheckResult:
        return CheckResult(operation, endpoint.path, False, problem, detail)

    try:
        status, content = probe(endpoint, body={} if endpoint.method == "POST" else None)
    except requests.RequestException as exc:
        return fail(*_transport_problem(exc))
    try:
        envelope = json.loads(content)
    except (ValueError, RecursionError):
        envelope = None
    if status != 200:
        text = ""
        if isinstance(envelope, dict):
            text = as_text(envelope.get("message") or envelope.get("msg"))[:200]
        return fail(
            "http",
            _("HTTP status %(status)s%(text)s")
            % {"status": status, "text": f": {text}" if text else ""},
        )
    if not isinstance(envelope, dict) or "code" not in envelope:
        return fail("bad_answer", _("HTTP 200, but the answer is not a JSON envelope"))
    code = as_int(envelope.get("code"))
    if code != 200:
        vendor_message = as_text(envelope.get("message") or envelope.get("msg"))[:200]
        label = message_for(endpoint.family, code, vendor_message)
        return fail(
            "envelope",
            _("Envelope code %(code)s: %(label)s")
            % {"code": as_text(envelope.get("code")), "label": label},
        )
    try:
        data = operations.PARSERS[operation](envelope.get("data"))
    except UnexpectedResponse as exc:
        return fail("bad_answer", _("Unexpected data: %(error)s") % {"error": str(exc)[:200]})
    return CheckResult(operation, endpoint.path, True, "", _summary(operation, data))


def vendor_check() -> list[CheckResult]:
    """One result per read-only operation, in order."""
    return [_check(op) for op in CHECKED]
