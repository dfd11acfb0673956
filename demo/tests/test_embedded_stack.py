"""The embedded default end to end, as `make demo` runs it: `python -m demo.run` with no
DATABASE_URL, CELERY_BROKER_URL or CACHE_URL, so the embedded PostgreSQL, the filesystem
broker and the file cache carry a real worker, beat, web server and simulator, on free
ports and in a directory of the test's own. Driven as a person would: the phone through
the simulator's controls, the console through its pages and API."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"Ready after ([\d.]+) s")
FIRST_PAGE = re.compile(r"first page served after ([\d.]+) s")

pytestmark = [pytest.mark.xdist_group("embedded-stack"), pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, var_dir: Path) -> None:
        self.web_port, self.sim_port = _free_port(), _free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.var_dir = var_dir
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "UPSTREAM_BASE_URL")
            and not k.startswith(("PYTEST_", "DJANGO_"))
        }
        env.update(
            SWITCHBOARD_VAR_DIR=str(var_dir),
            DEMO_WEB_PORT=str(self.web_port),
            DEMO_SIM_PORT=str(self.sim_port),
            DEMO_CHURN_SECONDS="0",  # the test makes the changes it checks
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "demo.run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-80:])

    def wait_ready(self, timeout: float = 240) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if m := READY.search(line):
                    return float(m.group(1))
            if self.proc.poll() is not None:
                pytest.fail(
                    f"make demo's runner exited with {self.proc.returncode}:\n{self.output()}"
                )
            time.sleep(0.5)
        pytest.fail(f"the demo was not ready within {timeout} s:\n{self.output()}")

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        if body is None:
            resp = requests.get(f"{self.sim}/_sim/{name}", timeout=10)
        else:
            resp = requests.post(f"{self.sim}/_sim/{name}", json=body, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f} s (last seen: {last!r})")


class Browser:
    """A signed-in person, through the pages (CSRF and all)."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.get(f"{base}/login/", timeout=10)
        resp = self.post("/login/", {"username": username, "password": password})
        assert "/login/" not in resp.url, f"sign-in as {username} failed"

    def post(self, path: str, data: dict[str, Any]) -> requests.Response:
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(
            f"{self.base}{path}",
            data={**data, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.base}{path}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Not under pytest's basetemp: every pytest session on the machine resets that to
    # 0700, and the embedded server runs as its own user, who must reach its data.
    home = Path(tempfile.mkdtemp(prefix="sb-embedded-"))
    home.chmod(0o755)
    running = Stack(home / "var")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_the_runner_reports_its_start_and_seeds_the_demo(stack: Stack) -> None:
    out = stack.output()
    assert FIRST_PAGE.search(out), out
    assert "imported with keys" in out, out
    assert "QR login" in out and "registration" in out, out
    # The embedded engine, broker and cache are the ones in use, under the test's var/.
    assert (stack.var_dir / "pgdata" / "PG_VERSION").exists()
    assert any((stack.var_dir / "broker").rglob("*")) or (stack.var_dir / "broker").is_dir()
    assert (stack.var_dir / "cache").is_dir()
    health = requests.get(f"{stack.web}/healthz", timeout=10)
    assert health.status_code == 200, health.text


def test_ban_and_disconnect_reach_the_api_within_30_s(stack: Stack) -> None:
    printed = stack.manage("drf_create_token", "supervisor")
    token = re.search(r"Generated token (\S+) for user", printed)
    assert token, printed
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token.group(1)}"
    online = [
        a["whatsApp"]
        for a in stack.control("state")["accounts"]
        if a["status"] == 1 and a["onlineStatus"] == 2
    ]
    banned, dropped = online[0], online[1]
    stack.control("ban", {"whatsapp": banned})
    stack.control("disconnect", {"whatsapp": dropped})

    def account(number: str) -> dict[str, Any]:
        resp = api.get(f"{stack.web}/api/v1/accounts/{number}/", timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def events(number: str) -> list[dict[str, Any]]:
        resp = api.get(f"{stack.web}/api/v1/status-events/?whatsapp={number}", timeout=10)
        resp.raise_for_status()
        return list(resp.json()["results"])

    _wait_for("the ban in the account API", lambda: account(banned)["status"] == 2)
    _wait_for(
        "the ban's status event",
        lambda: any(e["status"] == 40 for e in events(banned)[:3]),
    )
    _wait_for(
        "the disconnection's status event",
        lambda: events(dropped) and events(dropped)[0]["status"] == 20,
    )
    assert account(dropped)["online_status"] == 4


def test_a_qr_login_through_the_page_succeeds_when_the_phone_scans(stack: Stack) -> None:
    agent = Browser(stack.web, "agent", "agent-demo-pass")
    resp = agent.post("/qr/", {"pc_type": "2", "mode": "qr"})
    match = re.search(r"/qr/s/(\d+)/", resp.url)
    assert match, f"no session page after starting a QR login: {resp.status_code} {resp.url}"
    session_url = f"/qr/s/{match.group(1)}/"
    port = next(p for p in stack.control("state")["ports"] if not p["phone"])
    offline = next(
        a["whatsApp"]
        for a in stack.control("state")["accounts"]
        if a["status"] == 1 and a["onlineStatus"] == 4
    )
    stack.control("scan", {"id": port["id"], "whatsapp": offline, "ok": True})

    def status() -> str:
        return str(agent.http.get(f"{stack.web}{session_url}status/", timeout=10).text)

    _wait_for("the session page to show success", lambda: 'data-state="succeeded"' in status())
    assert f"The account {offline} is online" in status()


def test_a_registration_through_the_pages_lists_the_number_in_the_fleet(stack: Stack) -> None:
    supervisor = Browser(stack.web, "supervisor", "supervisor-demo-pass")
    phone = "13800776655"
    resp = supervisor.post(
        "/accounts/register/",
        {
            "country_code": "CN",
            "area_code": "+86",
            "phone": phone,
            "verify_type": "1",
            "account_type": "1",
        },
    )
    match = re.search(r"/accounts/register/(\d+)/", resp.url)
    assert match, f"no registration page after submitting the phone: {resp.status_code}"
    code = next(
        r["verifyCode"]
        for r in stack.control("registrations")
        if r["phone"] == phone and r["status"] == "pending"
    )
    supervisor.post(match.group(0), {"code": code})
    number = "86" + phone

    def registration_page() -> str:
        return str(supervisor.http.get(f"{stack.web}{match.group(0)}", timeout=10).text)

    _wait_for(
        "the registration's success", lambda: "<strong>Registered</strong>" in registration_page()
    )
    # A row of the fleet list links to the account (the search box alone would echo it).
    fleet = supervisor.http.get(f"{stack.web}/accounts/?q={number}", timeout=10).text
    assert f'href="/accounts/{number}/"' in fleet


def test_stopping_the_runner_stops_everything_it_started(stack: Stack) -> None:
    """Ctrl-C ends the web server, worker, beat, simulator and the embedded PostgreSQL.
    (The last test of the module: it stops the shared stack.)"""
    children = psutil.Process(stack.proc.pid).children(recursive=True)
    assert len(children) >= 4, [c.cmdline() for c in children]
    postmaster = int((stack.var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    assert psutil.pid_exists(postmaster)
    stack.stop()
    assert stack.proc.returncode == 0, stack.output()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.pid for p in alive]
    assert not psutil.pid_exists(postmaster), "the embedded PostgreSQL is still running"
