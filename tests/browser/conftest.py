"""Every browser test also checks the Content-Security-Policy: Chromium posts each
violation to /csp-report/, and a test that caused one fails. The suite's total is
written to artifacts/csp-violations.txt for the closing note."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TOTAL = {"tests": 0, "violations": 0}
_ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(autouse=True)
def no_csp_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    if "live_server" not in request.fixturenames:
        yield
        return
    # Set the server (and its database) up first, so this check runs before they are
    # torn down and the reports are still in the table.
    request.getfixturevalue("live_server")
    yield
    from core.models import CspReport

    time.sleep(0.3)  # reports are posted asynchronously by the browser
    reports = list(
        CspReport.objects.values_list("violated_directive", "document_uri", "blocked_uri")
    )
    _TOTAL["tests"] += 1
    _TOTAL["violations"] += len(reports)
    assert not reports, f"CSP violations: {reports}"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if _TOTAL["tests"]:
        _ARTIFACTS.mkdir(exist_ok=True)
        name = f"csp-violations-{__import__('os').environ.get('PYTEST_XDIST_WORKER', 'main')}.txt"
        (_ARTIFACTS / name).write_text(
            f"browser tests checked: {_TOTAL['tests']}\nCSP violations: {_TOTAL['violations']}\n"
        )
