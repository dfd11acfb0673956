"""The simulated vendor's records (accounts, agents, ports, scan tasks, registrations,
actions), its options, and the business error every handler answers as an envelope."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from simulator import vendorcodes as vc


class BusinessError(Exception):
    """Answered as an envelope with a non-200 `code` (HTTP 200)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def qr_error(code: int) -> BusinessError:
    return BusinessError(code, vc.QR_MESSAGES[code])


def refusal(kind: tuple[int, str], field: str, *, expected: str = "") -> BusinessError:
    """A request refused as the vendor would (vendorcodes.PARAM_*): the envelope's code
    and a message naming the field."""
    code, template = kind
    return BusinessError(code, template.format(field=field, expected=expected))


def hex_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Account:
    whatsapp: str
    name: str = ""
    avatar: str = ""
    whatsapp_type: int = 1
    status: int = vc.STATUS_NORMAL
    online_status: int = vc.OS_OFFLINE
    presence: int | None = None  # last 10/20/30/40
    agent_account: str = ""
    source: int = vc.SOURCE_PC
    port_id: int | None = None
    has_keys: bool = False
    login_due: float | None = None  # batchOnline: goes online at this time
    # queryWhatsAppStatus: this account's serialized entry and the values it was made from
    frag: str = field(default="", repr=False, compare=False)
    frag_key: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)

    # Bumped by any write to status/online_status, also by tests that poke an account
    # directly, so the cached queryWhatsAppStatus answer can never go stale.
    writes: ClassVar[int] = 0

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("status", "online_status"):
            Account.writes += 1
        object.__setattr__(self, name, value)

    def status_fragment(self) -> str:
        key = (self.status, self.online_status)
        if key != self.frag_key or not self.frag:
            number = json.dumps(self.whatsapp)
            self.frag = f'{{"whatsApp":{number},"status":{key[0]:d},"onlineStatus":{key[1]:d}}}'
            self.frag_key = key
        return self.frag

    @property
    def online(self) -> bool:
        return self.online_status == vc.OS_ONLINE and self.status == vc.STATUS_NORMAL


@dataclass
class Agent:
    user_id: int
    agent_account: str
    user_name: str
    online: bool = True
    latest: list[str] = field(default_factory=list)  # latest online whatsapps, newest first


@dataclass
class Port:
    port_id: int
    session_id: str
    type: int
    target: int | None
    created: float
    locked_until: float | None
    phone: str | None = None
    status: int | None = None  # 10 online, 20 disconnected, None unused
    expected_phone: str = ""
    pair_mode: str | None = None
    seed: str = field(default_factory=hex_id)
    agent_account: str = ""
    scanned_at: float | None = None

    @property
    def logged_in(self) -> bool:
        return self.phone is not None


@dataclass
class ScanTask:
    task_id: str
    user_id: int
    agent_account: str
    created: float
    expires: float
    status: int | None = None
    whatsapp: str = ""
    seed: str = field(default_factory=hex_id)
    history: list[int] = field(default_factory=list)


@dataclass
class Registration:
    task_id: int
    phone: str
    area_code: str
    country_code: str
    verify_type: int
    account_type: int
    code: str
    created: float
    status: str = "pending"  # pending, registered, failed

    @property
    def whatsapp(self) -> str:
        digits = "".join(ch for ch in self.area_code if ch.isdigit())
        return (
            self.phone
            if self.phone.startswith(digits) and len(self.phone) > 11
            else (digits + self.phone)
        )


@dataclass
class Action:
    id: str
    tenant_id: int
    agent_account: str
    whats_id: str
    friend: str
    platform_type: int
    content: str
    type: int
    arrived: float
    execute_status: int = vc.EXEC_PENDING
    execute_time: str = vc.NOT_EXECUTED_TIME
    reason: str = ""


def our_tenant() -> int:
    """The simulator's tenant by default: the one Switchboard is configured with."""
    from django.conf import settings

    return int(settings.UPSTREAM_TENANT_ID)


@dataclass
class Options:
    qr_rotate: float = 20.0  # seconds between QR refreshes
    lock_seconds: float = 600.0  # a pre-generated port's lock
    max_ports: int = 10
    action_interval: float = 10.0  # spacing per (agentAccount, whatsId) pair
    action_delay: float = 1.0  # an action executes this long after it arrives
    action_login_wait: float = 60.0  # ... and fails if the pair is not logged in by then
    login_delay: float = 0.0  # batchOnline: logging in -> online
    task_timeout: float = 120.0  # a PC scan task not scanned by then -> 71
    # The company id the vendor knows us by: batchAdd and callbackResult refuse another.
    tenant_id: int = field(default_factory=our_tenant)


Sink = Callable[[str, Any], object]
