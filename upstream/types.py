"""Typed shapes for the vendor's requests and responses (seeds: the source of truth).

Conventions, whatever the vendor sent:
- the account number is always `whatsapp: str` (the vendor spells it `whatsApp`, `whatsapp`,
  `whatsId` or leaves the field name empty); "" when absent;
- upstream ids (ports, tasks, agents, tenants, callbacks) are `str`, exact even above 2^53;
- integer codes are `int | None` (None when absent or unreadable; undocumented values are kept);
- times are aware datetimes, or None when absent or "not executed yet".

Request items hold secrets as `str | Secret`; they are revealed only when the request body
is built, and their repr never shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.crypto import Secret

SecretLike = str | Secret


def reveal(value: SecretLike | None) -> str:
    """The clear text of a secret (or plain str), "" for None. Only for request bodies."""
    if value is None:
        return ""
    if isinstance(value, Secret):
        return value.reveal()
    return str(value)


# --- request items ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ActionItem:
    """One open-chat action for batchAdd (`data[]`)."""

    agent_account: str
    friend_whatsapp: str
    platform_type: int  # 1 pc, 2 android
    whatsapp: str = ""  # whatsId; "" lets the vendor choose a logged-in account
    content: str = ""
    action_type: int = 1  # `type`: 1 opens the friend conversation window


@dataclass(frozen=True, kw_only=True)
class AccountItem:
    """One account for batchInsert (`whatsAppList[]`). Key fields are secrets."""

    whatsapp: str
    public_key: SecretLike = field(repr=False)
    private_key: SecretLike = field(repr=False)
    msg_public_key: SecretLike = field(repr=False)
    msg_private_key: SecretLike = field(repr=False)
    account_id: SecretLike = field(default="", repr=False)
    next_key_id: SecretLike = field(default="", repr=False)
    registration_id: SecretLike = field(default="", repr=False)
    device_params: SecretLike = field(default="", repr=False)
    whatsapp_type: int | None = None  # 1 personal (vendor default), 2 business
    name: str = ""
    avatar: str = ""


@dataclass(frozen=True, kw_only=True)
class OnlineAccountItem(AccountItem):
    """One account for batchOnline: an import item plus `override`."""

    override: bool = False


# --- responses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    """callbackResult `data[]`: executeStatus 0 not executed, 1 success, 2 failed."""

    id: str
    tenant_id: str
    agent_account: str
    whatsapp: str
    friend_whatsapp: str
    action_type: int | None
    execute_status: int | None
    execute_time: datetime | None  # None: not executed yet (the vendor's 1970 default)


@dataclass(frozen=True)
class AccountStatus:
    """queryWhatsAppStatus `data[]`: status 1 normal, 2 banned; onlineStatus 1-4."""

    whatsapp: str
    status: int | None
    online_status: int | None


@dataclass(frozen=True)
class PairTarget:
    """selectPairTarget `data[]`."""

    target_tenant_id: str
    target_tenant_name: str
    create_time: datetime | None


@dataclass(frozen=True)
class QrOrPairCode:
    """getQrCodeV2 `data`: either or both may be ""."""

    qrcode: str
    pair_code: str


@dataclass(frozen=True)
class QrCodeInfo:
    """getQrCodeInfo `data[]`: status 0 not logged in, 1 logged in."""

    status: int | None
    user_name: str
    whatsapp: str


@dataclass(frozen=True)
class PortQuota:
    """selectCloudPort `data`."""

    current_port: int
    max_port: int

    @property
    def over_quota(self) -> int:
        """How many ports exceed the quota (accounts on the latest ports go offline)."""
        return max(0, self.current_port - self.max_port)


@dataclass(frozen=True)
class CloudPort:
    """selectCloudPortDetail `data[]`: status 10 online, 20 disconnected, or None."""

    id: str
    phone: str
    create_time: datetime | None
    status: int | None


@dataclass(frozen=True)
class Contact:
    """selectContact `data[]` / contact/info `data`."""

    whatsapp: str
    push_name: str
    is_friend: bool | None
    first_name: str
    full_name: str


@dataclass(frozen=True)
class Profile:
    """qrCode/info/profile `data`."""

    whatsapp: str
    push_name: str
    is_business: bool | None
    business_name: str
    avatar: str
    status: str
    chat_num: int | None
    group_num: int | None
    last_chat_time: datetime | None


@dataclass(frozen=True)
class AgentWhatsApp:
    """An account in an agent's `whatsAppList` (status only in getLatestOnlineWhatsAccount)."""

    whatsapp: str
    name: str
    status: int | None = None


@dataclass(frozen=True)
class AgentAccounts:
    """queryUserStatus / getLatestOnlineWhatsAccount `data[]`, queryAllOlWhatsAppInfo list[]."""

    user_id: str
    agent_account: str
    user_name: str
    whatsapps: tuple[AgentWhatsApp, ...]


@dataclass(frozen=True)
class SourceAgents:
    """queryAllOlWhatsAppInfo `data[]`: source 1 pc, 2 mobile (3 cloud)."""

    source: int | None
    agents: tuple[AgentAccounts, ...]


@dataclass(frozen=True)
class OnlineInfo:
    """queryWhatsAppInfo `data` (an object or a list of them): source 1 pc, 2 mobile, 3 cloud."""

    user_id: str
    agent_account: str
    whatsapp: str
    source: int | None


@dataclass(frozen=True)
class StatusLogEntry:
    """queryUserStatusLog `whatsAppList[]`. country_code may be a localized name."""

    whatsapp: str
    name: str
    status: int | None
    source: int | None
    country_code: str
    detail_status: int | None
    create_time: datetime | None


@dataclass(frozen=True)
class AgentStatusLog:
    """queryUserStatusLog `data[]`."""

    user_id: str
    agent_account: str
    entries: tuple[StatusLogEntry, ...]
