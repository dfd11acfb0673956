"""The PC scan-task layer: scanning a QR (a port's or a task's), scan tasks and their
status webhooks, and bans (a ban also fails the account's scanned task)."""

from __future__ import annotations

import random
from typing import Any

from simulator import vendorcodes as vc
from simulator.state.fakes import qr_string
from simulator.state.ports import PortsState
from simulator.state.records import Account, BusinessError, ScanTask, hex_id


class ScanTasksState(PortsState):
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
            port.scanned_at = self.now()
            acc.port_id = port.port_id
            acc.source = vc.SOURCE_CLOUD
            self.emit(vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": number, "status": 1})
            if self.vendor_profile.failure_after_success:
                # A vendor that also reports the login failed afterwards (no time is carried).
                self.emit(
                    vc.QR_LOGIN_STATUS, {"id": port.session_id, "whatsapp": number, "status": 0}
                )
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

    def ban(self, whatsapp: str) -> Account:
        with self.lock:
            acc = self._account(whatsapp)
            self._presence(acc, vc.P_BANNED, "banned")
            for task in self.tasks.values():
                if task.whatsapp == whatsapp and task.status == vc.TASK_SCANNED:
                    self._task_status(task, vc.TASK_BANNED)
            return acc

    def _expire(self) -> None:
        super()._expire()
        now = self.now()
        for task in self.tasks.values():
            if task.status is None and now >= task.expires:
                self._task_status(task, vc.TASK_SCAN_TIMEOUT)
