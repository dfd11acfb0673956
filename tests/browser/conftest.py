"""The browser tests' live server is ASGI (uvicorn in a thread), as in production, so the
pages' live stream (Server-Sent Events) is served as users get it.

Every browser test also checks the Content-Security-Policy: Chromium posts each
violation to /csp-report/, and a test that caused one fails. The suite's total is
written to artifacts/csp-violations.txt for the closing note."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TOTAL = {"tests": 0, "violations": 0}
_ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


class AsgiLiveServer:
    """What pytest-django's `live_server` offers (`url`, and the settings its helper turns
    on and off per test), served by uvicorn with the production application (config/asgi.py:
    the live stream on Django's ASGI handler, every other request on its WSGI handler in a
    thread pool), whose WhiteNoise serves the static files under their hashed names, as in
    production (collected once per run by conftest.py)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        import uvicorn
        from django.test.utils import modify_settings

        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.host = host
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": host})
        from config.asgi import application

        config = uvicorn.Config(
            application,
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            loop="asyncio",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server")
        self.thread.daemon = True
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI live server did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server() -> Iterator[AsgiLiveServer]:
    server = AsgiLiveServer()
    yield server
    server.stop()


@pytest.fixture
def live_vendor(simulator: Any, live_server: AsgiLiveServer, celery_worker_live: Any) -> Any:
    """The simulated vendor, live: its signed webhooks go to the live server and a Celery
    worker processes them, so what it changes reaches the pages the real way."""
    simulator.set_webhook_base(live_server.url)
    return simulator


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
