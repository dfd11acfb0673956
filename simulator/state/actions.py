"""The open-chat action layer: batchAdd, callbackResult and the per-pair spacing rule."""

from __future__ import annotations

from typing import Any

from simulator import vendorcodes as vc
from simulator.state.fakes import vendor_time
from simulator.state.records import Action, hex_id
from simulator.state.scan_tasks import ScanTasksState


class ActionsState(ScanTasksState):
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
