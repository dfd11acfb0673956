"""The open-chat action layer: batchAdd, callbackResult and the per-pair spacing rule."""

from __future__ import annotations

from typing import Any

from simulator import vendorcodes as vc
from simulator.state.fakes import vendor_time
from simulator.state.records import Action, hex_id, refusal
from simulator.state.scan_tasks import ScanTasksState


class ActionsState(ScanTasksState):
    # ------------------------------------------------------------------ actions
    def pair_logged_in(self, agent_account: str, whats_id: str) -> bool:
        agent = self.agents.get(agent_account)
        acc = self.accounts.get(whats_id)
        return bool(agent and agent.online and acc and acc.online)

    def batch_add(self, *, tenant_id: int, rows: list[dict[str, Any]]) -> list[str]:
        """Queue the rows' actions. A row that would open a conversation on its pair less
        than `action_interval` after the previous one (earlier in this call included)
        refuses the whole call: nothing of it is queued, and the violation is recorded."""
        with self.lock:
            now = self.now()
            actions = [self._action(tenant_id, row, now) for row in rows]
            lanes = dict(self.lane_last)
            for i, action in enumerate(actions):
                key = (action.agent_account, action.whats_id)
                last = lanes.get(key)
                if last is not None and now - last[0] < self.options.action_interval:
                    self._lane_violation(action, last, now)
                    raise refusal(
                        vc.LANE_TOO_FAST,
                        f"data[{i}]",
                        expected=f"{self.options.action_interval:g} s apart, "
                        f"not {now - last[0]:.1f} s after {last[1]}",
                    )
                lanes[key] = (now, action.id)
            self.lane_last = lanes
            for action in actions:
                self.actions[action.id] = action
                self.pending_actions.append(action.id)
            self._run_actions(now)
            return [action.id for action in actions]

    def _action(self, tenant_id: int, row: dict[str, Any], now: float) -> Action:
        agent_account = str(row["agentAccount"])
        whats_id = str(row.get("whatsId") or "")
        if not whats_id:
            mine = self._online_by(None).get(agent_account, [])
            whats_id = mine[0].whatsapp if mine else ""
        return Action(
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

    def _lane_violation(self, action: Action, last: tuple[float, str], now: float) -> None:
        self.violations.append(
            {
                "agentAccount": action.agent_account,
                "whatsId": action.whats_id,
                "previousId": last[1],
                "id": action.id,
                "gap": round(now - last[0], 4),
                "interval": self.options.action_interval,
                "time": vendor_time(now),
            }
        )

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
