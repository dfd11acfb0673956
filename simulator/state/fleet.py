"""The fleet layer: agents, WhatsApp accounts and their presence (with the onlineStatus and
syncWhatsAppStatus webhooks and the status log), the agent queries and registration."""

from __future__ import annotations

import random
import secrets
from typing import Any

from simulator import vendorcodes as vc
from simulator.demo_fleet import DEMO_AGENTS, demo_fleet
from simulator.state.base import StateCore
from simulator.state.fakes import vendor_time
from simulator.state.records import Account, Agent, BusinessError, Options, Registration


class FleetState(StateCore):
    def reset(self, *, demo: bool = False, options: Options | None = None) -> None:
        with self.lock:
            super().reset(options=options)
            if demo:
                self.seed_demo()

    def seed_demo(self) -> None:
        """Start with the demo fleet (simulator/demo_fleet.py), the one `make demo` stores on
        our side."""
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
        """batchInsert: new accounts are normal and offline; known ones are updated.

        Under a `reimport_refused` profile a number the vendor already holds is refused:
        the whole call is answered with a business error naming the first such record
        (nothing is imported), as a vendor that validates before it writes would."""
        with self.lock:
            if self.vendor_profile.reimport_refused:
                for i, row in enumerate(rows):
                    if str(row["whatsApp"]) in self.accounts:
                        raise BusinessError(
                            400, f"whatsAppList[{i}]: account {row['whatsApp']} already exists"
                        )
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
