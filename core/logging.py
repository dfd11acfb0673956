"""Structured logs that follow one piece of work (request id, task id) and never
carry a secret."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
# The client's address (core.net.client_address: read through TRUSTED_PROXY_NETS).
_client: contextvars.ContextVar[str | None] = contextvars.ContextVar("client", default=None)

# The vendor's names for an account's keys (docs/design.md section 5): never logged or shown.
ACCOUNT_KEY_FIELDS = (
    "publicKey",
    "privateKey",
    "msgPublicKey",
    "msgPrivateKey",
    "accountId",
    "nextKeyId",
    "registrationId",
    "deviceParams",
)
# Field names whose values are secrets wherever they appear (JSON, query strings, reprs).
SECRET_FIELDS = (
    *ACCOUNT_KEY_FIELDS,
    "ipConfig",
    "proxy",
    "password",
    "secret",
    "token",
    "X-Signature",
    "X-Api-Key",
    "Authorization",
)
_FIELD_RE = re.compile(
    r"""(?P<key>["']?(?:"""
    + "|".join(re.escape(f) for f in SECRET_FIELDS)
    + r""")["']?\s*[:=]\s*)(?P<q>["']?)(?P<val>[^"',}\s]*)""",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
# The webhook receivers' secret path segment (/hooks/<token>/...): a credential in a URL.
_HOOK_TOKEN_RE = re.compile(r"^/hooks/[^/]+")
# Fields an access line carries besides the message (core.middleware.RequestIdMiddleware).
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


def mask_path(path: str) -> str:
    """A request path fit for a log line: the webhook path token masked."""
    return _HOOK_TOKEN_RE.sub("/hooks/" + REDACTED, path)


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    _request_id.reset(token)


def set_client(value: str | None) -> contextvars.Token[str | None]:
    return _client.set(value)


def reset_client(token: contextvars.Token[str | None]) -> None:
    _client.reset(token)


def current_client() -> str | None:
    return _client.get()


def set_task_id(value: str | None) -> contextvars.Token[str | None]:
    return _task_id.set(value)


def reset_task_id(token: contextvars.Token[str | None]) -> None:
    _task_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


def current_task_id() -> str | None:
    return _task_id.get()


def _known_secret_values() -> list[str]:
    from django.conf import settings

    values = [settings.UPSTREAM_API_SECRET, settings.UPSTREAM_API_KEY]
    values.append(getattr(settings, "WEBHOOK_PATH_TOKEN", ""))
    values += list(settings.WEBHOOK_SECRETS)
    values += [getattr(settings, "WEBHOOK_PATH_TOKEN", "")]
    values += list(getattr(settings, "WEBHOOK_API_KEYS", []))
    values += list(settings.FIELD_ENCRYPTION_KEYS)
    return [v for v in values if v and len(v) >= 6]


def redact(text: str) -> str:
    """Mask secret fields and every configured secret value in free text."""

    def _mask(m: re.Match[str]) -> str:
        return f"{m.group('key')}{m.group('q')}{REDACTED if m.group('val') else ''}"

    text = _FIELD_RE.sub(_mask, text)
    for value in _known_secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        record.task_id = _task_id.get() or "-"
        record.client = _client.get() or "-"
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
            "task_id": getattr(record, "task_id", None) or _task_id.get(),
            "client": getattr(record, "client", None) or _client.get(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                payload[name] = getattr(record, name)
        if record.exc_text or record.exc_info:
            payload["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(payload, ensure_ascii=False, default=str)
