"""The simulated vendor's state: accounts, agents, status log, registrations, cloud ports,
QR sessions, PC scan tasks and open-chat actions, in memory, behind one lock.

Every method that changes something emits the matching webhook through `self.sink`
(the server plugs in the delivery queue; by default they pile up in `self.outbox`, which
is what the state's own tests read). Time comes from `self.clock` so tests can drive it;
`tick()` applies whatever time has made due (QR lock expiry, delayed logins, actions).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from demo.fleet import DEMO_AGENTS, demo_fleet
from simulator import vendorcodes as vc


class BusinessError(Exception):
    """Answered as an envelope with a non-200 `code` (HTTP 200)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def qr_error(code: int) -> BusinessError:
    return BusinessError(code, vc.QR_MESSAGES[code])


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def vendor_zone() -> ZoneInfo:
    try:
        from django.conf import settings

        return _zone(settings.UPSTREAM_TIMEZONE)
    except Exception:  # settings not configured (plain-Python use)
        return _zone("Asia/Shanghai")


def vendor_time(ts: float) -> str:
    """ "YYYY-MM-DD HH:MM:SS" in the vendor's zone (Asia/Shanghai)."""
    return datetime.fromtimestamp(ts, vendor_zone()).strftime("%Y-%m-%d %H:%M:%S")


def _b64(rng: random.Random, n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode()


def qr_string(seed: str, generation: int) -> str:
    """WhatsApp Web's shape: `2@<ref>,<noise key>,<identity key>,<adv secret>,1`. The ref
    changes with every refresh; the three keys belong to the session and stay."""
    keys = random.Random(f"keys:{seed}")
    ref = random.Random(f"ref:{seed}:{generation}")
    return f"2@{_b64(ref, 72)},{_b64(keys, 32)},{_b64(keys, 32)},{_b64(keys, 32)},1"


PAIR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"


def pair_code(seed: str, mode: str | None) -> str:
    """isEasy: absent or "b" -> "88888888"; "y" easy -> "PPPP-1111"; "n" native ->
    eight letters shown as "IVEA_IPON" (the seed's example)."""
    rng = random.Random(f"pair:{seed}:{mode}")
    if mode == "y":
        letter = rng.choice(PAIR_LETTERS)
        digit = str(rng.randrange(10))
        return f"{letter * 4}-{digit * 4}"
    if mode == "n":
        letters = "".join(rng.choice(PAIR_LETTERS) for _ in range(8))
        return f"{letters[:4]}_{letters[4:]}"
    return "88888888"


FIRST_NAMES = ("Ryan", "Mia", "Chen", "Lucia", "Amir", "Sofia", "Ken", "Ana", "Tunde", "Li")
LAST_NAMES = ("yu", "Garcia", "Wang", "Silva", "Khan", "Rossi", "Sato", "Lopez", "Ade", "Zhang")


def _rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def contact_for(owner: str, phone: str, *, is_friend: bool) -> dict[str, Any]:
    rng = _rng_for("contact", phone)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "whatsapp": phone,
        "pushName": f"{first} {last}",
        "isFriend": is_friend,
        "firstName": last if is_friend else "",
        "fullName": f"{first} {last}" if is_friend else "",
    }


def contacts_for(owner: str) -> list[dict[str, Any]]:
    """A deterministic address book for an account (5 to 12 entries, a few not friends)."""
    rng = _rng_for("book", owner)
    prefix = owner[:4] if len(owner) >= 4 else "8613"
    rows = []
    for i in range(rng.randint(5, 12)):
        number = prefix + "".join(str(rng.randrange(10)) for _ in range(9))
        rows.append(contact_for(owner, number, is_friend=i % 4 != 3))
    return rows


def profile_for(account: Account | None, phone: str) -> dict[str, Any]:
    rng = _rng_for("profile", phone)
    name = (account.name if account and account.name else None) or (
        f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    )
    business = (account.whatsapp_type == 2) if account else rng.random() < 0.3
    avatar = account.avatar if account and account.avatar else ""
    if not avatar:
        avatar = f"https://pps.whatsapp.net/v/t61.24694-24/{rng.randrange(10**15)}_n.jpg?ccb=11-4"
    return {
        "whatsapp": phone,
        "isBusiness": business,
        "businessName": name if business else "",
        "avatar": avatar,
        "pushName": name,
        "status": rng.choice(("Nihao", "Available", "Busy", "At work", "")),
        "chatNum": rng.randint(0, 200),
        "groupNum": rng.randint(0, 20),
        "lastChatTime": 1_770_000_000 + rng.randrange(10_000_000),
    }


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


Sink = Callable[[str, Any], object]


class VendorState:
    def __init__(
        self,
        *,
        options: Options | None = None,
        clock: Callable[[], float] = time.time,
        sink: Sink | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.defaults = options or Options()
        self.sink: Sink = sink or self._keep
        self.reset()

    # ------------------------------------------------------------------ basics
    def _keep(self, path: str, payload: Any) -> None:
        self.outbox.append((path, payload))

    def reset(self, *, demo: bool = False, options: Options | None = None) -> None:
        with self.lock:
            if options is not None:
                self.defaults = options
            self.options = Options(**self.defaults.__dict__)
            self.outbox: list[tuple[str, Any]] = []
            self.accounts: dict[str, Account] = {}
            self.agents: dict[str, Agent] = {}
            self.status_log: deque[dict[str, Any]] = deque(maxlen=2000)
            self.registrations: dict[int, Registration] = {}
            self.next_registration = 12
            self.ports: dict[int, Port] = {}
            self.sessions: dict[str, int] = {}  # 32-hex id -> port id
            self.last_port_id = 8639164839053938688
            self.max_ports = self.options.max_ports
            self.targets: list[dict[str, Any]] = [
                {
                    "createTime": "2025-11-05 16:22:07",
                    "targetTenantName": "xxxx",
                    "targetTenantId": 10085,
                },
                {
                    "createTime": "2025-11-21 10:50:37",
                    "targetTenantName": "yyyy",
                    "targetTenantId": 10086,
                },
            ]
            self.tasks: dict[str, ScanTask] = {}
            self.actions: dict[str, Action] = {}
            self.pending_actions: list[str] = []
            self.lane_last: dict[tuple[str, str], tuple[float, str]] = {}
            self.violations: list[dict[str, Any]] = []
            self.opened: list[dict[str, Any]] = []
            self.profile_updates: list[dict[str, Any]] = []
            self._status_cache: tuple[tuple[int, int, int], bytes] | None = None
            self._version = 0
            if demo:
                self.seed_demo()

    def emit(self, path: str, payload: Any) -> None:
        self.sink(path, payload)

    def now(self) -> float:
        return self.clock()

    def _changed(self) -> None:
        self._version += 1

    def set_options(self, **values: Any) -> None:
        with self.lock:
            for key, value in values.items():
                if value is None:
                    continue
                if not hasattr(self.options, key):
                    raise ValueError(f"unknown option {key}")
                setattr(self.options, key, type(getattr(self.options, key))(value))
            if "max_ports" in values and values["max_ports"] is not None:
                self.max_ports = int(values["max_ports"])

    def seed_demo(self) -> None:
        """Start with demo.fleet (the one `make demo` stores on our side)."""
        with self.lock:
            for user_id, account, name in DEMO_AGENTS:
                self.upsert_agent(user_id=user_id, agent_account=account, user_name=name)
            for demo in demo_fleet():
                acc = Account(
                    whatsapp=demo.whatsapp,
                    name=demo.name,
                    status=vc.STATUS_BANNED if demo.banned else vc.STATUS_NORMAL,
                    online_status=vc.OS_ONLINE if demo.online else vc.OS_OFFLINE,
                    presence=vc.P_BANNED
                    if demo.banned
                    else (vc.P_ONLINE if demo.online else vc.P_OFFLINE),
                    agent_account=demo.agent_account,
                    source=vc.SOURCE_PC,
                    has_keys=True,
                )
                self.accounts[demo.whatsapp] = acc
                if demo.online:
                    self.agents[acc.agent_account].latest.insert(0, demo.whatsapp)
            self._changed()

    # ------------------------------------------------------------------ agents
    def upsert_agent(
        self, *, user_id: int, agent_account: str, user_name: str = "", online: bool = True
    ) -> Agent:
        with self.lock:
            agent = self.agents.get(agent_account)
            if agent is None:
                agent = Agent(
                    user_id=int(user_id),
                    agent_account=agent_account,
                    user_name=user_name or agent_account,
                    online=online,
                )
                self.agents[agent_account] = agent
            else:
                agent.user_id = int(user_id)
                agent.user_name = user_name or agent.user_name
                agent.online = online
            return agent

    def agent_by_id(self, user_id: int) -> Agent | None:
        return next((a for a in self.agents.values() if a.user_id == user_id), None)

    # ------------------------------------------------------------------ accounts
    def set_account(
        self,
        whatsapp: str,
        *,
        online: bool | None = None,
        agent_account: str | None = None,
        source: int | None = None,
        name: str | None = None,
        status: int | None = None,
        emit: bool = False,
    ) -> Account:
        """Create or change an account directly (tests and the demo). With emit=True the
        presence change sends the webhooks; otherwise it is silent."""
        with self.lock:
            acc = self.accounts.get(whatsapp)
            if acc is None:
                acc = self.accounts[whatsapp] = Account(whatsapp=whatsapp, has_keys=True)
            if agent_account is not None:
                acc.agent_account = agent_account
            if source is not None:
                acc.source = int(source)
            if name is not None:
                acc.name = name
            if status is not None:
                acc.status = int(status)
                if acc.status == vc.STATUS_BANNED:
                    acc.online_status, acc.presence = vc.OS_OFFLINE, vc.P_BANNED
            if online is not None:
                if emit:
                    kind = "online" if online else "offline"
                    self._presence(acc, vc.P_ONLINE if online else vc.P_OFFLINE, kind)
                else:
                    acc.online_status = vc.OS_ONLINE if online else vc.OS_OFFLINE
                    acc.presence = vc.P_ONLINE if online else vc.P_OFFLINE
                    if online:
                        self._note_latest(acc)
            self._changed()
            return acc

    def _note_latest(self, acc: Account) -> None:
        agent = self.agents.get(acc.agent_account)
        if agent is not None:
            if acc.whatsapp in agent.latest:
                agent.latest.remove(acc.whatsapp)
            agent.latest.insert(0, acc.whatsapp)
            del agent.latest[50:]

    def _presence(
        self,
        acc: Account,
        presence: int,
        kind: str,
        *,
        detail: int | None = None,
        reason: str = "",
        instance: str = "",
    ) -> None:
        """Move an account to a presence (10/20/30/40) and send onlineStatus and
        syncWhatsAppStatus, and write the status log."""
        now = self.now()
        if detail is None:
            detail = vc.DETAIL.get(acc.source, vc.DETAIL[vc.SOURCE_PC])[kind]
        acc.presence = presence
        if presence == vc.P_BANNED:
            acc.status = vc.STATUS_BANNED
        acc.online_status = vc.OS_ONLINE if presence == vc.P_ONLINE else vc.OS_OFFLINE
        acc.login_due = None
        if presence == vc.P_ONLINE:
            self._note_latest(acc)
        if acc.port_id is not None and acc.port_id in self.ports:
            port = self.ports[acc.port_id]
            port.status = vc.P_ONLINE if presence == vc.P_ONLINE else vc.P_DISCONNECTED
        self._changed()
        agent = self.agents.get(acc.agent_account)
        platform = 2 if acc.source == vc.SOURCE_MOBILE else 1
        self.status_log.appendleft(
            {
                "whatsApp": acc.whatsapp,
                "name": acc.name,
                "status": presence,
                "source": acc.source,
                "countryCode": vc.country_for(acc.whatsapp),
                "detailStatus": detail,
                "createTime": vendor_time(now),
                "agentAccount": acc.agent_account,
                "userId": agent.user_id if agent else 0,
            }
        )
        self.emit(
            vc.ONLINE_STATUS,
            {
                "whatsAppList": [
                    {
                        "whatsId": acc.whatsapp,
                        "status": presence,
                        "detailStatus": detail,
                        "account": acc.agent_account,
                        "platformType": platform,
                        "time": vendor_time(now),
                    }
                ]
            },
        )
        self._sync(acc, reason=reason, instance=instance)

    def _sync(self, acc: Account, *, reason: str = "", instance: str = "") -> None:
        self.emit(
            vc.SYNC_WHATSAPP_STATUS,
            {
                "whatsApp": acc.whatsapp,
                "status": acc.status,
                "onlineStatus": acc.online_status,
                "reason": reason,
                "instanceCode": instance,
            },
        )

    def import_accounts(self, rows: list[dict[str, Any]]) -> int:
        """batchInsert: new accounts are normal and offline; known ones are updated."""
        with self.lock:
            for row in rows:
                number = str(row["whatsApp"])
                acc = self.accounts.get(number) or Account(whatsapp=number)
                acc.name = str(row.get("name") or acc.name or "")
                acc.avatar = str(row.get("avatar") or acc.avatar or "")
                acc.whatsapp_type = int(row.get("whatsappType") or acc.whatsapp_type or 1)
                acc.has_keys = True
                self.accounts[number] = acc
            self._changed()
            return len(rows)

    def batch_online(self, rows: list[dict[str, Any]]) -> None:
        """batchOnline: imports unknown accounts; override=false leaves an account that is
        already online (or logging in) alone and keeps its stored keys; override=true
        replaces the keys and logs it in again. Banned accounts stay banned (a sync
        webhook says so)."""
        with self.lock:
            for row in rows:
                number = str(row["whatsApp"])
                override = bool(row.get("override"))
                acc = self.accounts.get(number)
                if acc is None:
                    acc = self.accounts[number] = Account(whatsapp=number, has_keys=True)
                if row.get("name"):
                    acc.name = str(row["name"])
                if acc.status == vc.STATUS_BANNED:
                    self._sync(acc, reason=vc.REASON_LOGGED_OUT)
                    continue
                busy = acc.online_status in (vc.OS_ONLINE, vc.OS_LOGGING_IN)
                if busy and not override:
                    continue
                acc.has_keys = True
                acc.online_status = vc.OS_LOGGING_IN
                self._changed()
                self._sync(acc)
                acc.login_due = self.now() + self.options.login_delay
                if self.options.login_delay <= 0:
                    self._presence(acc, vc.P_ONLINE, "online")

    def batch_recycle(self, numbers: Iterable[str]) -> list[str]:
        with self.lock:
            removed = []
            for number in numbers:
                acc = self.accounts.get(str(number))
                if acc is None:
                    continue
                if acc.online:
                    self._presence(acc, vc.P_OFFLINE, "offline", reason=vc.REASON_LOGGED_OUT)
                if acc.port_id is not None:
                    self._release_port(acc.port_id)
                del self.accounts[acc.whatsapp]
                removed.append(acc.whatsapp)
            self._changed()
            return removed

    def status_bytes(self) -> bytes:
        """The whole queryWhatsAppStatus answer, serialized once per state version."""
        with self.lock:
            key = (self._version, Account.writes, len(self.accounts))
            cached = self._status_cache
            if cached is not None and cached[0] == key:
                return cached[1]
            parts = [a.status_fragment() for a in self.accounts.values()]
            body = ('{"code":200,"message":"Success","data":[' + ",".join(parts) + "]}").encode()
            self._status_cache = (key, body)
            return body

    def ban(self, whatsapp: str) -> Account:
        with self.lock:
            acc = self._account(whatsapp)
            self._presence(acc, vc.P_BANNED, "banned")
            for task in self.tasks.values():
                if task.whatsapp == whatsapp and task.status == vc.TASK_SCANNED:
                    self._task_status(task, vc.TASK_BANNED)
            return acc

    def disconnect(self, whatsapp: str) -> Account:
        with self.lock:
            acc = self._account(whatsapp)
            self._presence(acc, vc.P_DISCONNECTED, "disconnected", reason=vc.REASON_NETWORK)
            return acc

    def churn(self, rng: random.Random) -> tuple[str, int] | None:
        """One random change of a working fleet (the demo's heartbeat): an online account
        drops its connection or goes offline, a disconnected or offline one comes back.
        Banned accounts stay banned. Returns (number, new presence), or None if nothing
        can change."""
        with self.lock:
            candidates = [a for a in self.accounts.values() if a.status == vc.STATUS_NORMAL]
            if not candidates:
                return None
            acc = rng.choice(sorted(candidates, key=lambda a: a.whatsapp))
            if acc.online:
                if rng.random() < 0.6:
                    self._presence(acc, vc.P_DISCONNECTED, "disconnected", reason=vc.REASON_NETWORK)
                    return acc.whatsapp, vc.P_DISCONNECTED
                self._presence(acc, vc.P_OFFLINE, "offline")
                return acc.whatsapp, vc.P_OFFLINE
            self._presence(acc, vc.P_ONLINE, "online")
            return acc.whatsapp, vc.P_ONLINE

    def _account(self, whatsapp: str) -> Account:
        acc = self.accounts.get(str(whatsapp))
        if acc is None:
            raise BusinessError(400, f"unknown WhatsApp account {whatsapp}")
        return acc

    # ------------------------------------------------------------------ agent queries
    def _online_by(self, source: int | None) -> dict[str, list[Account]]:
        out: dict[str, list[Account]] = {}
        for acc in self.accounts.values():
            if acc.online and acc.agent_account and (source is None or acc.source == source):
                out.setdefault(acc.agent_account, []).append(acc)
        return out

    def query_user_status(
        self, *, user_id: int | None, user_name: str, source: int
    ) -> list[dict[str, Any]]:
        with self.lock:
            online = self._online_by(source)
            rows = []
            for agent in self.agents.values():
                if not agent.online:
                    continue
                if user_id is not None and agent.user_id != user_id:
                    continue
                if user_name and user_name not in (agent.agent_account, agent.user_name):
                    continue
                rows.append(
                    {
                        "userId": agent.user_id,
                        "agentAccount": agent.agent_account,
                        "whatsAppList": [
                            {"whatsApp": a.whatsapp, "name": a.name}
                            for a in online.get(agent.agent_account, [])
                        ],
                    }
                )
            return rows

    def query_all_online(self) -> list[dict[str, Any]]:
        with self.lock:
            out = []
            for source in (vc.SOURCE_PC, vc.SOURCE_MOBILE, vc.SOURCE_CLOUD):
                online = self._online_by(source)
                rows = [
                    {
                        "agentAccount": agent.agent_account,
                        "userName": agent.user_name,
                        "whatsAppList": [
                            {"whatsApp": a.whatsapp, "name": a.name}
                            for a in online[agent.agent_account]
                        ],
                        "userId": agent.user_id,
                    }
                    for agent in self.agents.values()
                    if agent.online and agent.agent_account in online
                ]
                if source != vc.SOURCE_CLOUD or rows:
                    out.append({"source": source, "list": rows})
            return out

    def query_whatsapp_info(self, whatsapp: str, source: int | None) -> dict[str, Any] | None:
        """Only online accounts; source absent means pc or mobile, 3 means cloud."""
        with self.lock:
            acc = self.accounts.get(whatsapp)
            if acc is None or not acc.online:
                return None
            wanted = (vc.SOURCE_PC, vc.SOURCE_MOBILE) if source is None else (source,)
            if acc.source not in wanted:
                return None
            agent = self.agents.get(acc.agent_account)
            return {
                "agentAccount": acc.agent_account,
                "whatsApp": acc.whatsapp,
                "source": acc.source,
                "userId": agent.user_id if agent else 0,
            }

    def query_status_log(
        self, *, agent_account: str, whatsapp: str, source: int
    ) -> list[dict[str, Any]]:
        with self.lock:
            grouped: dict[str, dict[str, Any]] = {}
            count = 0
            for row in self.status_log:
                if count >= 50:
                    break
                if row["source"] != source and not (
                    source == vc.SOURCE_PC and row["source"] == vc.SOURCE_CLOUD
                ):
                    continue
                if agent_account and row["agentAccount"] != agent_account:
                    continue
                if whatsapp and row["whatsApp"] != whatsapp:
                    continue
                count += 1
                group = grouped.setdefault(
                    row["agentAccount"],
                    {
                        "userId": row["userId"],
                        "agentAccount": row["agentAccount"],
                        "whatsAppList": [],
                    },
                )
                group["whatsAppList"].append(
                    {
                        k: row[k]
                        for k in (
                            "whatsApp",
                            "name",
                            "status",
                            "source",
                            "countryCode",
                            "detailStatus",
                            "createTime",
                        )
                    }
                )
            return list(grouped.values())

    def latest_online(self, *, user_id: int | None, source: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            for agent in self.agents.values():
                if user_id is not None and agent.user_id != user_id:
                    continue
                items = []
                for number in agent.latest:
                    acc = self.accounts.get(number)
                    if acc is None or acc.source != source:
                        continue
                    items.append(
                        {"whatsApp": number, "name": acc.name, "status": acc.presence or 30}
                    )
                    if len(items) == 10:
                        break
                rows.append(
                    {
                        "agentAccount": agent.agent_account,
                        "whatsAppList": items,
                        "userId": agent.user_id,
                    }
                )
            return rows

    # ------------------------------------------------------------------ registration
    def submit_phone(
        self, *, phone: str, verify_type: int, account_type: int, area_code: str, country: str
    ) -> Registration:
        with self.lock:
            task_id = self.next_registration
            self.next_registration += 1
            reg = Registration(
                task_id=task_id,
                phone=phone,
                area_code=area_code,
                country_code=country,
                verify_type=verify_type,
                account_type=account_type,
                code=f"{secrets.randbelow(10**6):06d}",
                created=self.now(),
            )
            self.registrations[task_id] = reg
            return reg

    def submit_code(self, *, phone: str, area_code: str, code: str) -> Registration:
        """The right code registers the account (status "1" webhook); a wrong one fails the
        registration (status "0" webhook). No pending registration: a business error."""
        with self.lock:
            reg = next(
                (
                    r
                    for r in sorted(self.registrations.values(), key=lambda r: -r.task_id)
                    if r.status == "pending" and r.phone == phone
                ),
                None,
            )
            if reg is None:
                raise BusinessError(400, "No registration in progress for this phone")
            if code != reg.code:
                reg.status = "failed"
                self.emit(vc.REGISTER_STATUS, {"phone": reg.whatsapp, "status": "0"})
                return reg
            reg.status = "registered"
            acc = self.accounts.get(reg.whatsapp) or Account(whatsapp=reg.whatsapp)
            acc.whatsapp_type = reg.account_type if reg.account_type in (1, 2) else 1
            acc.has_keys = True
            self.accounts[reg.whatsapp] = acc
            self._changed()
            self.emit(vc.REGISTER_STATUS, {"phone": reg.whatsapp, "status": "1"})
            return reg

    # ------------------------------------------------------------------ ports and QR
    def _new_port_id(self) -> int:
        snowflake = (int(self.now() * 1000) - 1288834974657) << 22
        self.last_port_id = max(self.last_port_id + 1, snowflake)
        return self.last_port_id

    def port(self, ident: Any, *, issued_only: bool = False) -> Port:
        """A port by its 32-hex session id or its 19-digit port id; 1002 otherwise.

        With `issued_only` (the port operations onLine, offline, logOut, selectContact,
        contact/info, info/profile), only the id that preGenerate issued is accepted: the
        vendor answers 1002 to the "port application id" of selectCloudPortDetail."""
        text = str(ident or "").strip()
        port_id = self.sessions.get(text)
        if port_id is None and text.isdigit() and not issued_only:
            port_id = int(text)
        port = self.ports.get(port_id) if port_id is not None else None
        if port is None:
            raise qr_error(vc.QR_NO_PORT)
        return port

    def current_ports(self) -> int:
        return len(self.ports)

    def pre_generate(self, *, type_: int, target: int | None, session_id: str = "") -> Port:
        """Type 1 PC or 2 cloud PC; 1003 otherwise. A target must be a configured pairing
        target (1004); cloud PC needs at least one configured (1004). Locks a port (1001
        when the quota is used up)."""
        with self.lock:
            if type_ not in (1, 2):
                raise qr_error(vc.QR_BAD_TYPE)
            ids = {t["targetTenantId"] for t in self.targets}
            if (target is not None and target not in ids) or (type_ == 2 and not ids):
                raise qr_error(vc.QR_NO_TARGET)
            if self.current_ports() >= self.max_ports:
                raise qr_error(vc.QR_QUOTA)
            now = self.now()
            port = Port(
                port_id=self._new_port_id(),
                session_id=session_id or hex_id(),
                type=type_,
                target=target,
                created=now,
                locked_until=now + self.options.lock_seconds,
            )
            self.ports[port.port_id] = port
            self.sessions[port.session_id] = port.port_id
            return port

    def _release_port(self, port_id: int) -> None:
        port = self.ports.pop(port_id, None)
        if port is not None:
            self.sessions.pop(port.session_id, None)
            acc = self.accounts.get(port.phone or "")
            if acc is not None and acc.port_id == port_id:
                acc.port_id = None

    def qr_generation(self, created: float) -> int:
        return int(max(0.0, self.now() - created) // max(self.options.qr_rotate, 0.001))

    def get_qr(self, ident: Any, *, phone: str = "", mode: str | None = None) -> Port:
        with self.lock:
            self._expire()
            port = self.port(ident)
            if phone:
                port.expected_phone = phone
            if mode is not None:
                port.pair_mode = mode
            return port

    def port_qr(self, port: Port) -> str:
        """The current QR string; "" once the port is logged in (nothing left to scan)."""
        if port.logged_in:
            return ""
        return qr_string(port.seed, self.qr_generation(port.created))

    def qr_info(self, *, ident: Any, whatsapp: str) -> list[dict[str, Any]]:
        with self.lock:
            if ident:
                ports = [self.port(ident)]
            elif whatsapp:
                ports = [p for p in self.ports.values() if p.phone == whatsapp]
            else:
                ports = list(self.ports.values())
            rows = []
            for port in ports:
                acc = self.accounts.get(port.phone or "")
                agent = self.agents.get(acc.agent_account if acc else port.agent_account)
                rows.append(
                    {
                        "status": 1 if port.status == vc.P_ONLINE else 0,
                        "userName": agent.user_name if agent else "",
                        "whatsApp": port.phone or "",
                    }
                )
            return rows

    def _logged_in_port(self, ident: Any) -> tuple[Port, Account]:
        port = self.port(ident, issued_only=True)
        acc = self.accounts.get(port.phone or "")
        if acc is None:
            raise BusinessError(400, "No WhatsApp account is logged in on this port")
        return port, acc

    def port_online(self, ident: Any) -> None:
        with self.lock:
            port, acc = self._logged_in_port(ident)
            if acc.status == vc.STATUS_BANNED:
                raise BusinessError(400, "The account on this port is banned")
            if not acc.online:
                self._presence(acc, vc.P_ONLINE, "online", instance=port.session_id)

    def port_offline(self, ident: Any) -> None:
        with self.lock:
            port, acc = self._logged_in_port(ident)
            if acc.online:
                self._presence(acc, vc.P_OFFLINE, "offline", instance=port.session_id)
            port.status = vc.P_DISCONNECTED

    def port_logout(self, ident: Any) -> None:
        """Logs the account out and releases the port (the quota is freed)."""
        with self.lock:
            port = self.port(ident, issued_only=True)
            acc = self.accounts.get(port.phone or "")
            if acc is not None and acc.presence != vc.P_BANNED:
                self._presence(
                    acc,
                    vc.P_OFFLINE,
                    "offline",
                    reason=vc.REASON_LOGGED_OUT,
                    instance=port.session_id,
                )
            self._release_port(port.port_id)

    def contacts(self, ident: Any) -> list[dict[str, Any]]:
        with self.lock:
            _, acc = self._logged_in_port(ident)
            return contacts_for(acc.whatsapp)

    def contact_info(self, ident: Any, phone: str) -> dict[str, Any]:
        with self.lock:
            _, acc = self._logged_in_port(ident)
            book = {c["whatsapp"]: c for c in contacts_for(acc.whatsapp)}
            return book.get(phone) or contact_for(acc.whatsapp, phone, is_friend=False)

    def profile(self, ident: Any) -> dict[str, Any]:
        with self.lock:
            _, acc = self._logged_in_port(ident)
            return profile_for(acc, acc.whatsapp)

    def update_avatar_or_nickname(
        self, *, type_: int, phones: list[str], avatar: str, nickname: str
    ) -> None:
        with self.lock:
            if type_ not in (0, 1):
                raise BusinessError(400, "type must be 0 (physical device) or 1 (cloud port)")
            if not phones:
                raise BusinessError(400, "phoneList must not be empty")
            if not avatar and not nickname:
                raise BusinessError(400, "Nothing to update: give an avatar or a nickname")
            if avatar and not avatar.startswith(("http://", "https://")):
                raise BusinessError(400, "avatar must be a reachable http(s) image URL")
            for phone in phones:
                acc = self.accounts.get(phone)
                if type_ == 1:
                    on_port = acc is not None and acc.port_id in self.ports and acc.online
                    if not on_port:
                        raise BusinessError(
                            400, f"Cloud port for {phone} is not online: log it in first"
                        )
            for phone in phones:
                acc = self.accounts.get(phone)
                if acc is not None:
                    acc.avatar = avatar or acc.avatar
                    acc.name = nickname or acc.name
                self.profile_updates.append(
                    {"type": type_, "phone": phone, "avatar": avatar, "nickname": nickname}
                )

    def set_quota(self, max_ports: int) -> list[dict[str, Any]]:
        """Cut (or raise) the quota. When maxPort < currentPort, the accounts on the latest
        ports go offline (detail 33, monitor-triggered) and unused latest ports are
        released. Returns what was affected."""
        with self.lock:
            self.max_ports = int(max_ports)
            excess = self.current_ports() - self.max_ports
            affected: list[dict[str, Any]] = []
            if excess <= 0:
                return affected
            latest = sorted(self.ports.values(), key=lambda p: p.port_id, reverse=True)[:excess]
            for port in latest:
                acc = self.accounts.get(port.phone or "")
                if acc is None:
                    affected.append({"id": str(port.port_id), "phone": None, "released": True})
                    self.emit(
                        vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": "", "status": 0}
                    )
                    self._release_port(port.port_id)
                    continue
                if acc.online:
                    self._presence(
                        acc,
                        vc.P_OFFLINE,
                        "offline",
                        detail=vc.DETAIL_MONITOR_OFFLINE.get(acc.source, 33),
                        instance=port.session_id,
                    )
                port.status = vc.P_DISCONNECTED
                affected.append({"id": str(port.port_id), "phone": acc.whatsapp, "released": False})
            return affected

    # ------------------------------------------------------------------ scanning
    def scan(
        self, ident: str, whatsapp: str = "", ok: bool = True, task_status: int | None = None
    ) -> dict[str, Any]:
        """The phone scans a port's QR (or a PC scan task's)."""
        with self.lock:
            self._expire()
            task = self.tasks.get(str(ident))
            if task is not None:
                return self._scan_task(task, whatsapp, ok, task_status)
            port = self.port(ident)
            if port.logged_in:
                raise BusinessError(400, "This port is already logged in")
            number = whatsapp or port.expected_phone
            if not ok or not number:
                self.emit(
                    vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": number, "status": 0}
                )
                self._release_port(port.port_id)
                return {"id": port.session_id, "status": 0, "released": True}
            acc = self.accounts.get(number)
            if acc is None:
                acc = self.accounts[number] = Account(whatsapp=number, has_keys=True)
            if acc.status == vc.STATUS_BANNED:
                self.emit(
                    vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": number, "status": 0}
                )
                self._sync(acc, reason=vc.REASON_PAIRING_FAILED, instance=port.session_id)
                self._release_port(port.port_id)
                return {"id": port.session_id, "status": 0, "released": True}
            if acc.port_id is not None and acc.port_id != port.port_id:
                self._release_port(acc.port_id)
            port.phone = number
            port.locked_until = None
            acc.port_id = port.port_id
            acc.source = vc.SOURCE_CLOUD
            self.emit(vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": number, "status": 1})
            self._presence(acc, vc.P_ONLINE, "login", instance=port.session_id)
            return {"id": port.session_id, "status": 1, "portId": str(port.port_id)}

    # ------------------------------------------------------------------ PC scan tasks
    def task_create(self, *, user_id: int | None, role: int, task_id: str = "") -> ScanTask:
        with self.lock:
            if role not in (1, 3):
                raise BusinessError(400, "allocationRole must be 1 (random) or 3 (specified)")
            if self.current_ports() >= self.max_ports:
                raise BusinessError(500, "Insufficient port quota")
            if role == 3:
                if user_id is None:
                    raise BusinessError(400, "userId is required when allocationRole is 3")
                agent = self.agent_by_id(user_id)
                if agent is None or not agent.online:
                    raise BusinessError(500, "Insufficient ports for online agents")
            else:
                online = [a for a in self.agents.values() if a.online]
                if user_id is not None:
                    online = [a for a in online if a.user_id == user_id] or online
                if not online:
                    raise BusinessError(500, "Insufficient ports for online agents")
                agent = random.choice(online)
            now = self.now()
            task = ScanTask(
                task_id=task_id or hex_id(),
                user_id=agent.user_id,
                agent_account=agent.agent_account,
                created=now,
                expires=now + self.options.task_timeout,
            )
            self.tasks[task.task_id] = task
            return task

    def task_qr(self, task_id: str) -> str:
        with self.lock:
            self._expire()
            task = self.tasks.get(task_id)
            if task is None:
                raise BusinessError(400, "Unknown taskId")
            if task.status is not None:
                return ""
            return qr_string(task.seed, self.qr_generation(task.created))

    def _task_status(self, task: ScanTask, status: int) -> None:
        task.status = status
        task.history.append(status)
        payload = {
            "taskId": task.task_id,
            "userId": task.user_id,
            "taskStatus": status,
            "whatsapp": task.whatsapp,
            "updateTime": int(self.now() * 1000),
        }
        self.emit(vc.SCAN_TASK_STATUS, payload)

    def _scan_task(
        self, task: ScanTask, whatsapp: str, ok: bool, forced: int | None
    ) -> dict[str, Any]:
        if task.status not in (None, vc.TASK_SCANNED):
            raise BusinessError(400, f"Task already finished with status {task.status}")
        task.whatsapp = whatsapp or task.whatsapp
        if forced is not None:
            if forced not in vc.TASK_STATUSES:
                raise BusinessError(400, f"taskStatus must be one of {vc.TASK_STATUSES}")
            self._task_status(task, forced)
            if forced == vc.TASK_LOGGED_IN and task.whatsapp:
                self._task_login(task)
            return {"taskId": task.task_id, "statuses": task.history}
        if not ok:
            self._task_status(task, vc.TASK_SCANNED if whatsapp else vc.TASK_SCAN_TIMEOUT)
            if whatsapp:
                self._task_status(task, vc.TASK_LOGIN_TIMEOUT)
            return {"taskId": task.task_id, "statuses": task.history}
        if not task.whatsapp:
            raise BusinessError(400, "whatsapp is required for a successful scan")
        self._task_status(task, vc.TASK_SCANNED)
        acc = self.accounts.get(task.whatsapp)
        if acc is not None and acc.status == vc.STATUS_BANNED:
            self._task_status(task, vc.TASK_BANNED)
        elif self.current_ports() > self.max_ports:
            self._task_status(task, vc.TASK_NO_PORT)
        else:
            self._task_status(task, vc.TASK_LOGGED_IN)
            self._task_login(task)
        return {"taskId": task.task_id, "statuses": task.history}

    def _task_login(self, task: ScanTask) -> None:
        acc = self.accounts.get(task.whatsapp)
        if acc is None:
            acc = self.accounts[task.whatsapp] = Account(whatsapp=task.whatsapp, has_keys=True)
        acc.agent_account = task.agent_account
        acc.source = vc.SOURCE_PC
        self._presence(acc, vc.P_ONLINE, "login", instance=task.task_id)

    # ------------------------------------------------------------------ actions
    def pair_logged_in(self, agent_account: str, whats_id: str) -> bool:
        agent = self.agents.get(agent_account)
        acc = self.accounts.get(whats_id)
        return bool(agent and agent.online and acc and acc.online)

    def batch_add(self, *, tenant_id: int, rows: list[dict[str, Any]]) -> list[str]:
        with self.lock:
            now = self.now()
            ids = []
            for row in rows:
                agent_account = str(row["agentAccount"])
                whats_id = str(row.get("whatsId") or "")
                if not whats_id:
                    mine = self._online_by(None).get(agent_account, [])
                    whats_id = mine[0].whatsapp if mine else ""
                action = Action(
                    id=hex_id(),
                    tenant_id=tenant_id,
                    agent_account=agent_account,
                    whats_id=whats_id,
                    friend=str(row["friendWhatsId"]),
                    platform_type=int(row["platformType"]),
                    content=str(row.get("content") or ""),
                    type=int(row["type"]),
                    arrived=now,
                )
                key = (agent_account, whats_id)
                last = self.lane_last.get(key)
                if last is not None and now - last[0] < self.options.action_interval:
                    self.violations.append(
                        {
                            "agentAccount": agent_account,
                            "whatsId": whats_id,
                            "previousId": last[1],
                            "id": action.id,
                            "gap": round(now - last[0], 4),
                            "interval": self.options.action_interval,
                            "time": vendor_time(now),
                        }
                    )
                self.lane_last[key] = (now, action.id)
                self.actions[action.id] = action
                self.pending_actions.append(action.id)
                ids.append(action.id)
            self._run_actions(now)
            return ids

    def callback_result(self, *, tenant_id: int, ids: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            self._run_actions(self.now())
            rows = []
            for ident in ids:
                action = self.actions.get(str(ident))
                if action is None:
                    continue
                rows.append(
                    {
                        "id": action.id,
                        "tenantId": action.tenant_id,
                        "agentAccount": action.agent_account,
                        "whatsId": action.whats_id,
                        "friendWhatsId": action.friend,
                        "type": action.type,
                        "executeStatus": action.execute_status,
                        "executeTime": action.execute_time,
                    }
                )
            return rows

    def _run_actions(self, now: float) -> None:
        still = []
        for ident in self.pending_actions:
            action = self.actions[ident]
            if now < action.arrived + self.options.action_delay:
                still.append(ident)
            elif self.pair_logged_in(action.agent_account, action.whats_id):
                action.execute_status = vc.EXEC_OK
                action.execute_time = vendor_time(now)
                self.opened.append(
                    {
                        "id": action.id,
                        "friendWhatsId": action.friend,
                        "agentAccount": action.agent_account,
                        "whatsId": action.whats_id,
                        "time": vendor_time(now),
                    }
                )
            elif now >= action.arrived + self.options.action_login_wait:
                action.execute_status = vc.EXEC_FAILED
                action.reason = "not logged in"
            else:
                still.append(ident)
        self.pending_actions = still

    # ------------------------------------------------------------------ time
    def _expire(self) -> None:
        now = self.now()
        for port in list(self.ports.values()):
            if port.phone is None and port.locked_until is not None and now >= port.locked_until:
                self.emit(vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": "", "status": 0})
                self._release_port(port.port_id)
        for task in self.tasks.values():
            if task.status is None and now >= task.expires:
                self._task_status(task, vc.TASK_SCAN_TIMEOUT)

    def tick(self) -> None:
        """Apply what time has made due: port locks, scan task timeouts, delayed logins,
        actions. The server calls this a few times a second."""
        with self.lock:
            self._expire()
            now = self.now()
            for acc in self.accounts.values():
                if acc.login_due is not None and now >= acc.login_due:
                    acc.login_due = None
                    if acc.online_status == vc.OS_LOGGING_IN:
                        self._presence(acc, vc.P_ONLINE, "online")
            if self.pending_actions:
                self._run_actions(now)

    # ------------------------------------------------------------------ views
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            return {
                "options": dict(self.options.__dict__),
                "quota": {"currentPort": self.current_ports(), "maxPort": self.max_ports},
                "agents": [
                    {
                        "userId": a.user_id,
                        "agentAccount": a.agent_account,
                        "userName": a.user_name,
                        "online": a.online,
                    }
                    for a in self.agents.values()
                ],
                "accounts": [
                    {
                        "whatsApp": a.whatsapp,
                        "name": a.name,
                        "status": a.status,
                        "onlineStatus": a.online_status,
                        "presence": a.presence,
                        "agentAccount": a.agent_account,
                        "source": a.source,
                        "portId": str(a.port_id) if a.port_id else None,
                    }
                    for a in list(self.accounts.values())[:500]
                ],
                "accountCount": len(self.accounts),
                "ports": [
                    {
                        "id": p.session_id,
                        "portId": str(p.port_id),
                        "type": p.type,
                        "phone": p.phone,
                        "status": p.status,
                        "createTime": vendor_time(p.created),
                        "lockedFor": round(p.locked_until - now, 1) if p.locked_until else None,
                        "qrcode": self.port_qr(p),
                        "expectedPhone": p.expected_phone,
                        "pairCode": pair_code(p.seed, p.pair_mode) if p.pair_mode else "",
                    }
                    for p in self.ports.values()
                ],
                "tasks": [
                    {
                        "taskId": t.task_id,
                        "userId": t.user_id,
                        "agentAccount": t.agent_account,
                        "status": t.status,
                        "whatsapp": t.whatsapp,
                        "history": t.history,
                        "qrcode": ""
                        if t.status is not None
                        else qr_string(t.seed, self.qr_generation(t.created)),
                    }
                    for t in self.tasks.values()
                ],
                "registrations": [
                    {
                        "taskId": r.task_id,
                        "phone": r.phone,
                        "areaCode": r.area_code,
                        "verifyCode": r.code,
                        "status": r.status,
                    }
                    for r in self.registrations.values()
                ],
                "targets": list(self.targets),
                "actions": [
                    {
                        "id": a.id,
                        "agentAccount": a.agent_account,
                        "whatsId": a.whats_id,
                        "friendWhatsId": a.friend,
                        "executeStatus": a.execute_status,
                        "executeTime": a.execute_time,
                    }
                    for a in list(self.actions.values())[-100:]
                ],
                "violations": list(self.violations),
            }
