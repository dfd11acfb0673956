"""Helpers for the qrlogin tests: the simulator's view of ports and tasks."""

from __future__ import annotations

from typing import Any

from accounts.models import Agent


def sim_port(simulator: Any, session_id: str) -> dict[str, Any]:
    """The simulator's record of a port by its preGenerate id."""
    for port in simulator.state.snapshot()["ports"]:
        if port["id"] == session_id:
            return port  # type: ignore[no-any-return]
    raise AssertionError(f"the simulator has no port {session_id}")


def sim_task(simulator: Any, task_id: str) -> dict[str, Any]:
    for task in simulator.state.snapshot()["tasks"]:
        if task["taskId"] == task_id:
            return task  # type: ignore[no-any-return]
    raise AssertionError(f"the simulator has no task {task_id}")


def sim_agent_for(simulator: Any, user: Any, name: str = "") -> Agent:
    """Make the user's upstream agent known (and online) to the simulator."""
    agent = Agent.objects.get(user=user)
    simulator.state.upsert_agent(
        user_id=int(agent.upstream_user_id),
        agent_account=agent.agent_account,
        user_name=name or agent.user_name,
    )
    return agent


def sim_known_account(simulator: Any, whatsapp: str, agent: Agent) -> None:
    """An account the vendor already links to the agent (getQrCodeInfo names the agent)."""
    simulator.state.set_account(whatsapp, agent_account=agent.agent_account)
