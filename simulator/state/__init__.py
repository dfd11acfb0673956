"""The simulated vendor's state: accounts, agents, status log, registrations, cloud ports,
QR sessions, PC scan tasks and open-chat actions, in memory, behind one lock.

Every method that changes something emits the matching webhook through `self.sink`
(the server plugs in the delivery queue; by default they pile up in `self.outbox`, which
is what the state's own tests read). Time comes from `self.clock` so tests can drive it;
`tick()` applies whatever time has made due (QR lock expiry, delayed logins, actions).

The state is built in layers, each a module: `base` (lock, clock, sink, collections),
`fleet` (agents, accounts, presence, registration), `ports` (cloud ports and QR), `scan_tasks`
(PC scan tasks, bans) and `actions` (open-chat actions); `records` holds the dataclasses and
`fakes` the deterministic fake data.
"""

from __future__ import annotations

from typing import Any

from simulator import vendorcodes as vc
from simulator.state.actions import ActionsState
from simulator.state.fakes import pair_code, qr_string, vendor_time


class VendorState(ActionsState):
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
                        "qrcode": "" if p.logged_in else self.port_qr(p),
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
