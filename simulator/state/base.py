"""The state's ground layer: the lock, the clock, the webhook sink, the options and every
collection, created by `reset()`. The layers above (fleet, ports, scan tasks, actions) add
the operations; `_expire` is the one hook each extends with what time makes due."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from simulator.profiles import PROFILES, Profile
from simulator.state.records import (
    Account,
    Action,
    Agent,
    Options,
    Port,
    Registration,
    ScanTask,
    Sink,
)


class StateCore:
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
        self.vendor_profile: Profile = PROFILES["default"]  # set by the Simulator
        self.reset()

    def _keep(self, path: str, payload: Any) -> None:
        self.outbox.append((path, payload))

    def reset(self, *, options: Options | None = None) -> None:
        """Empty state (the fleet layer adds `demo=True`: seeded with simulator/demo_fleet.py)."""
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

    def _expire(self) -> None:
        """What time has made due; each layer adds its own after its parent's."""
