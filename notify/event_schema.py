"""The outgoing events in the OpenAPI schema (its `webhooks` section): one entry per event
type, each body's `data` generated from the payload type its builder is held to
(notify/payloads.py). Listed in SPECTACULAR_SETTINGS["WEBHOOKS"]."""

from __future__ import annotations

from typing import Any

from drf_spectacular.plumbing import resolve_type_hint
from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema

from notify.models import EventType
from notify.payloads import (
    AccountData,
    ActionData,
    JobData,
    QrSessionData,
    QuotaData,
    RegistrationData,
    ScanTaskData,
)

PAYLOADS: dict[str, type] = {
    EventType.ACCOUNT_STATUS_CHANGED: AccountData,
    EventType.ACCOUNT_BANNED: AccountData,
    EventType.QR_SESSION_FINISHED: QrSessionData,
    EventType.SCAN_TASK_FINISHED: ScanTaskData,
    EventType.ACTION_FINISHED: ActionData,
    EventType.REGISTRATION_FINISHED: RegistrationData,
    EventType.JOB_FINISHED: JobData,
    EventType.QUOTA_EXCEEDED: QuotaData,
}

_SIGNED = (
    "Sent to each event subscription that listens for it, signed per Standard Webhooks: "
    "headers `webhook-id` (stable across retries), `webhook-timestamp` (unix seconds) and "
    "`webhook-signature` (`v1,<base64 HMAC-SHA256>` with the subscription's `whsec_` "
    "secret over `<id>.<timestamp>.<body>`). Answer any 2xx; other answers are retried "
    "with backoff (docs/notify.md)."
)


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Every key of a payload type is always sent (the types are total): say so."""
    if schema.get("type") == "object" and "properties" in schema:
        schema["required"] = sorted(schema["properties"])
        for value in schema["properties"].values():
            _strict(value)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _strict(schema["items"])
    return schema


def as_extension(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: the API's schema is OpenAPI 3.0.3, where
    `webhooks` (a 3.1 section) is not allowed: it goes under `x-webhooks`, which Redoc and
    other renderers of 3.0 documents show as webhooks. (The schema stays 3.0.3 because the
    API fuzz suite's schemathesis reads 3.1 only experimentally.)"""
    if str(result.get("openapi", "")).startswith("3.0") and "webhooks" in result:
        result["x-webhooks"] = result.pop("webhooks")
    return result


def envelope(event_type: str) -> dict[str, Any]:
    """The JSON body of one event type: the Standard Webhooks shape plus id and sequence."""
    return {
        "type": "object",
        "required": ["id", "type", "timestamp", "sequence", "data"],
        "properties": {
            "id": {"type": "string", "description": "The event's id, also `webhook-id`."},
            "type": {"type": "string", "enum": [event_type]},
            "timestamp": {"type": "string", "format": "date-time"},
            "sequence": {
                "type": "integer",
                "nullable": True,
                "description": "Increases with each event about one account: order an "
                "account's events by it (null for events about no account).",
            },
            "data": _strict(resolve_type_hint(PAYLOADS[event_type])),
        },
    }


def _webhook(event_type: EventType) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=str(event_type),
        decorator=extend_schema(
            summary=str(event_type.label),
            description=_SIGNED,
            request={"application/json": envelope(event_type)},
            responses={200: OpenApiResponse(description="Received (any 2xx)")},
            tags=["outgoing events"],
        ),
    )


# One module attribute per event type (SPECTACULAR_SETTINGS["WEBHOOKS"] names each).
account_status_changed = _webhook(EventType.ACCOUNT_STATUS_CHANGED)
account_banned = _webhook(EventType.ACCOUNT_BANNED)
qr_session_finished = _webhook(EventType.QR_SESSION_FINISHED)
scan_task_finished = _webhook(EventType.SCAN_TASK_FINISHED)
action_finished = _webhook(EventType.ACTION_FINISHED)
registration_finished = _webhook(EventType.REGISTRATION_FINISHED)
job_finished = _webhook(EventType.JOB_FINISHED)
quota_exceeded = _webhook(EventType.QUOTA_EXCEEDED)
