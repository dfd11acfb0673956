"""The demo workload under vendor faults (bench/faults.py, CI-sized): with the simulator
failing 30% of the calls, imports, bulk online, QR logins, actions and a reconcile pass run
through the real services and a real Celery worker. Afterwards every job is in a final state
a person can see (with a reason when it did not succeed), the circuit breaker opened during
a burst of 500s and closed again, and nothing was lost or done twice."""

from __future__ import annotations

from typing import Any

import pytest

from bench.faults import CHUNK, FAST_SETTINGS, SIM_OPTIONS, Config, run_workload
from tests.fixtures import ARTIFACTS


@pytest.mark.django_db(transaction=True)
def test_demo_workload_survives_vendor_faults(
    simulator: Any,
    live_server: Any,
    celery_worker_live: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from accounts.services import fleet

    for name, value in FAST_SETTINGS.items():
        setattr(settings, name, value)
    monkeypatch.setattr(fleet, "CHUNK", CHUNK)
    simulator.set_options(**SIM_OPTIONS)
    simulator.set_action_interval(FAST_SETTINGS["ACTION_LANE_INTERVAL"])
    simulator.set_webhook_base(live_server.url)

    report = run_workload(simulator, Config(), log=print)
    text = "\n".join(report.lines())
    print(text)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fault-workload.txt").write_text(text + "\n")

    assert sum(report.faults_injected.values()) > 0, "no fault was injected"
    assert report.stuck == [], report.stuck
    assert report.reasons_missing == [], report.reasons_missing
    assert report.breaker_opened and report.breaker_recovered, report.breaker_states
    # Judged before the harness retried anything (what the product did on its own)...
    assert report.unaccounted_first_pass == [], report.unaccounted_first_pass
    # ...and after a person's retries, nothing is missing on either side.
    assert report.lost == [], report.lost
    assert report.opened_twice == [], report.opened_twice
    assert report.reconcile_errors_after == {}, report.reconcile_errors_after
    # After the retries every imported account is imported and online-requested.
    assert report.final["bulk import"]["ok"] == len(report.numbers)
    assert report.final["bulk online"]["failed"] == 0
