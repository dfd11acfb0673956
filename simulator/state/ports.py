"""The cloud-port layer: pre-generated ports, QR codes and pairing codes, logins on a port,
the port's contacts and profile, and the quota."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulator import vendorcodes as vc
from simulator.state.fakes import contact_for, contacts_for, profile_for, qr_string
from simulator.state.fleet import FleetState
from simulator.state.records import Account, BusinessError, Port, hex_id, qr_error

# What getQrCode answers once the phone has scanned, under `qr_after_scan: error`: an
# envelope code no table documents (a server-side code, as vendors commonly answer).
QR_SCANNED_CODE = 500
QR_SCANNED_MESSAGE = "The QR code has been scanned"


class PortsState(FleetState):
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

    def qr_port(self, ident: Any) -> Port:
        """The QR calls (getQrCode, getQrCodeV2, getQrCodeInfo) name the window that
        preGenerate opened: its id, never the port list's id (1002), whatever id the
        port operations take."""
        port_id = self.sessions.get(str(ident or "").strip())
        port = self.ports.get(port_id) if port_id is not None else None
        if port is None:
            raise qr_error(vc.QR_NO_PORT)
        return port

    def operated_port(self, ident: Any) -> Port:
        """The port a port operation (onLine, offline, logOut, selectContact, contact/info,
        info/profile) names. Which id it takes is the profile's `port_ids`: the id
        preGenerate issued, the port list's (selectCloudPortDetail) id, or either; the
        other is refused with 1002, as for an id the vendor does not know."""
        accepted = self.vendor_profile.port_ids
        text = str(ident or "").strip()
        port_id: int | None = None
        if accepted in ("pregenerate", "either"):
            port_id = self.sessions.get(text)
        if port_id is None and accepted in ("port-list", "either") and text.isdigit():
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

    def qr_generation(self, created: float, *, at: float | None = None) -> int:
        now = self.now() if at is None else at
        return int(max(0.0, now - created) // max(self.options.qr_rotate, 0.001))

    def get_qr(self, ident: Any, *, phone: str = "", mode: str | None = None) -> Port:
        with self.lock:
            self._expire()
            port = self.qr_port(ident)
            if phone:
                port.expected_phone = phone
            if mode is not None:
                port.pair_mode = mode
            return port

    def port_qr(self, port: Port) -> str:
        """The current QR string. Once the phone has scanned, what the profile's
        `qr_after_scan` says: the last code again (`code`), a business error (`error`), or
        a success with an empty code (`empty`)."""
        if not port.logged_in:
            return qr_string(port.seed, self.qr_generation(port.created))
        after = self.vendor_profile.qr_after_scan
        if after == "error":
            raise BusinessError(QR_SCANNED_CODE, QR_SCANNED_MESSAGE)
        if after == "empty":
            return ""
        scanned_at = port.scanned_at if port.scanned_at is not None else self.now()
        return qr_string(port.seed, self.qr_generation(port.created, at=scanned_at))

    def qr_info(self, *, ident: Any, whatsapp: str) -> list[dict[str, Any]]:
        with self.lock:
            if ident:
                ports = [self.qr_port(ident)]
            else:
                ports = [p for p in self.ports.values() if whatsapp and p.phone == whatsapp]
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
        port = self.operated_port(ident)
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
            port = self.operated_port(ident)
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

    def batch_recycle(self, numbers: Iterable[str]) -> list[str]:
        """batchRecycle (here: a recycled account's port is released)."""
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

    def _expire(self) -> None:
        super()._expire()
        now = self.now()
        for port in list(self.ports.values()):
            if port.phone is None and port.locked_until is not None and now >= port.locked_until:
                self.emit(vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": "", "status": 0})
                self._release_port(port.port_id)
