"""The payloads of the outgoing events, as types: `notify/hooks.py` builds each event's `data`
as one of these (mypy holds the builders to them), and the OpenAPI schema's `webhooks`
section is generated from them (`notify/event_schema.py`), so the published contract and
the code that sends it cannot drift apart."""

from __future__ import annotations

from typing import TypedDict


class PreviousState(TypedDict):
    status: int | None
    online_status: int | None
    presence: int | None
    detail_status: int | None


class AccountData(TypedDict):
    """account.status_changed and account.banned."""

    whatsapp: str
    status: int | None
    status_display: str
    online_status: int | None
    online_status_display: str
    presence: int | None
    presence_display: str
    detail_status: int | None
    detail_status_display: str
    reason_code: str
    reason: str
    agent_account: str
    platform: int | None
    event_time: str | None
    previous: PreviousState
    source: str


class QrSessionData(TypedDict):
    id: int
    state: str
    mode: str
    port_id: str
    whatsapp: str
    reason_code: str
    reason: str
    created_by: str | None
    finished_at: str | None


class ScanTaskData(TypedDict):
    id: int
    task_id: str
    status: int | None
    status_display: str
    whatsapp: str
    upstream_user_id: str
    updated_at: str | None


class ActionData(TypedDict):
    id: int
    state: str
    reason: str
    agent_account: str
    whatsapp: str
    friend_whatsapp: str
    callback_id: str
    finished_at: str | None


class RegistrationData(TypedDict):
    id: int
    phone: str
    area_code: str
    state: str
    error: str
    completed_at: str | None


class JobData(TypedDict):
    id: int
    kind: str
    state: str
    total: int
    done: int
    failed: int
    finished_at: str | None


class PortAtRisk(TypedDict):
    port_id: str
    phone: str | None
    whatsapp: str | None


class QuotaData(TypedDict):
    """quota.exceeded: the ports the vendor will take offline (the latest ones)."""

    current_port: int
    max_port: int
    over_by: int
    at_risk: list[PortAtRisk]
