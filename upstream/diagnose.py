"""Vendor connection check (`manage.py vendor_check` and the admin page "Vendor connection").

Calls the read-only operations queryWhatsAppStatus, selectCloudPort, selectCloudPortDetail,
selectPairTarget and queryAllOlWhatsAppInfo, and callbackResult for an id that does not
exist (a read that carries `tenantId`), each authenticated per UPSTREAM_AUTH but outside the
circuit breaker, and says what came back or exactly why not: DNS, connection, TLS, timeout,
HTTP status, envelope code, or an answer we cannot read. A refusal of our authentication is
read for what the vendor asks (its message naming headers such as appKey, or a signature)
and turned into the settings to change (`CheckResult.advice`).
"""

from __future__ import annotations

import json
import re
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
from upstream.signing import AuthConfigError, auth_problems, outbound_scheme, parse_static_headers

CHECKED: tuple[str, ...] = (
    "query_whatsapp_status",
    "select_cloud_port",
    "select_cloud_port_detail",
    "select_pair_target",
    "query_all_ol_whatsapp_info",
    "callback_result",  # with an id that does not exist: checks tenantId
)
# An action id no action has: callbackResult answers nothing for it, or refuses the tenant.
PROBE_ACTION_ID = "0"
# The vendor's refusal of our authentication: HTTP or envelope codes.
AUTH_CODES = (401, 403)
SIGNATURE_WORDS = ("signature", "nonce", "timestamp", "sign")


@dataclass(frozen=True)
class CheckResult:
    operation: str  # our name, e.g. query_whatsapp_status
    path: str  # the vendor's path
    ok: bool
    problem: str  # "", dns, connection, tls, timeout, http, envelope, bad_answer, config, auth
    detail: str  # what came back, or exactly why not
    advice: str = ""  # the settings to change, when the answer says which

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
    if operation == "callback_result":
        return _("tenantId %(tenant)s accepted") % {"tenant": settings.UPSTREAM_TENANT_ID}
    if operation == "select_cloud_port_detail":
        return _("%(n)s ports") % {"n": len(data)}
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


_HEADER_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{1,40}")
_MISSING = re.compile(
    r"(?:missing|required|requires|needs?)\W+(?:headers?\W+)?([^.;()]*)", re.IGNORECASE
)
_NOT_NAMES = {"and", "or", "the", "a", "header", "headers", "this", "gateway", "are", "is"}


def _header_value(name: str) -> str:
    lowered = name.lower()
    if "tenant" in lowered:
        return "{UPSTREAM_TENANT_ID}"
    if "secret" in lowered:
        return "{UPSTREAM_API_SECRET}"
    if "key" in lowered or "token" in lowered or "app" in lowered:
        return "{UPSTREAM_API_KEY}"
    return "<value>"


def auth_advice(message: str) -> str:
    """What to set, read from the vendor's refusal of our authentication ("" when it does
    not say): header names it asks for mean static headers, signature words an HMAC."""
    lowered = message.lower()
    found = _MISSING.search(message)
    words = _HEADER_WORD.findall(found.group(1)) if found else []
    named = [w for w in words if w.lower() not in _NOT_NAMES]
    signed = any(w in lowered for w in SIGNATURE_WORDS)
    if named and not signed:
        headers = ";".join(f"{n}={_header_value(n)}" for n in named)
        return _("set UPSTREAM_AUTH=headers and UPSTREAM_AUTH_HEADERS=%(headers)s") % {
            "headers": headers
        }
    if signed:
        if str(settings.UPSTREAM_AUTH).strip().lower() != "hmac":
            return _(
                "the vendor wants signed requests: set UPSTREAM_AUTH=hmac (header names, "
                "signed text, digest and timestamp unit: UPSTREAM_HMAC_*)"
            )
        if "timestamp" in lowered and "signature" not in lowered:
            return _("check UPSTREAM_HMAC_TIMESTAMP_UNIT (s or ms) and the server's clock")
        return _(
            "the signature is refused: check UPSTREAM_API_SECRET, UPSTREAM_HMAC_CANONICAL "
            "and UPSTREAM_HMAC_DIGEST"
        )
    if "tenant" in lowered:
        return _("the vendor refuses tenantId: check UPSTREAM_TENANT_ID")
    if "key" in lowered:
        return _("the vendor refuses the key: check UPSTREAM_API_KEY")
    return ""


def _check(operation: str) -> CheckResult:
    endpoint = operations.ENDPOINTS[operation]

    def fail(problem: str, detail: str, advice: str = "") -> CheckResult:
        return CheckResult(operation, endpoint.path, False, problem, detail, advice)

    config = auth_problems()
    if config:
        return fail("config", "; ".join(config))
    body: Any = None
    if operation == "callback_result":
        if not int(settings.UPSTREAM_TENANT_ID or 0):
            return fail("config", _("UPSTREAM_TENANT_ID is not set"))
        body = {"tenantId": settings.UPSTREAM_TENANT_ID, "data": [PROBE_ACTION_ID]}
    elif endpoint.method == "POST":
        body = {}
    try:
        status, content = probe(endpoint, body=body)
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
            "auth" if status in AUTH_CODES else "http",
            _("HTTP status %(status)s%(text)s")
            % {"status": status, "text": f": {text}" if text else ""},
            auth_advice(text) if status in AUTH_CODES else "",
        )
    if not isinstance(envelope, dict) or "code" not in envelope:
        return fail("bad_answer", _("HTTP 200, but the answer is not a JSON envelope"))
    code = as_int(envelope.get("code"))
    if code != 200:
        vendor_message = as_text(envelope.get("message") or envelope.get("msg"))[:200]
        label = message_for(endpoint.family, code, vendor_message)
        refused = code in AUTH_CODES
        if not refused and operation == "callback_result" and "tenant" in vendor_message.lower():
            refused = True
        return fail(
            "auth" if refused else "envelope",
            _("Envelope code %(code)s: %(label)s")
            % {"code": as_text(envelope.get("code")), "label": label},
            auth_advice(vendor_message) if refused else "",
        )
    try:
        data = operations.PARSERS[operation](envelope.get("data"))
    except UnexpectedResponse as exc:
        return fail("bad_answer", _("Unexpected data: %(error)s") % {"error": str(exc)[:200]})
    return CheckResult(operation, endpoint.path, True, "", _summary(operation, data))


def vendor_check() -> list[CheckResult]:
    """One result per read-only operation, in order."""
    return [_check(op) for op in CHECKED]


def auth_summary() -> str:
    """The outbound authentication in use, without a secret: the profile and header names."""
    profile = str(settings.UPSTREAM_AUTH).strip().lower()
    try:
        if profile == "headers":
            names = [n for n, _v in parse_static_headers(settings.UPSTREAM_AUTH_HEADERS)]
            return f"headers ({', '.join(names) or '-'})"
        if profile == "hmac":
            s = outbound_scheme()
            return (
                f"hmac ({s.key_header}, {s.timestamp_header} [{s.timestamp_unit}], "
                f"{s.nonce_header}, {s.signature_header} = {s.digest} of {s.canonical})"
            )
    except AuthConfigError as exc:
        return f"{profile} ({exc})"
    return profile
