"""Screenshots of a running `make demo` as a person uses it: the console, then the
simulator page's ban, disconnect and scan buttons, and what the console shows after each.

Usage: .venv/bin/python scripts/demo_screenshots.py [OUT_DIR]   (web on :8000, sim on :8001)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

WEB = "http://127.0.0.1:8000"
SIM = "http://127.0.0.1:8001"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in(page: Page, user: str) -> None:
    page.goto(f"{WEB}/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-demo-pass")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        console = browser.new_page(viewport={"width": 1366, "height": 900})
        sim = browser.new_page(viewport={"width": 1366, "height": 900})
        sign_in(console, "supervisor")
        console.screenshot(path=str(out / "01-home-supervisor.png"), full_page=True)
        console.goto(f"{WEB}/accounts/")
        console.screenshot(path=str(out / "02-fleet.png"), full_page=True)
        console.goto(f"{WEB}/accounts/logs/")
        console.screenshot(path=str(out / "03-status-logs-week.png"), full_page=True)

        sim.goto(f"{SIM}/_sim/")
        sim.screenshot(path=str(out / "04-sim-page.png"), full_page=True)
        ban_form = sim.locator("form[action='/_sim/ban']").first
        banned = ban_form.locator("input[name=whatsapp]").get_attribute("value") or ""
        ban_form.locator("button").click()
        sim.wait_for_load_state("networkidle")
        time.sleep(3)
        console.goto(f"{WEB}/accounts/{banned}/")
        console.screenshot(path=str(out / "05-account-after-ban.png"), full_page=True)

        drop_form = sim.locator("form[action='/_sim/disconnect']").first
        dropped = drop_form.locator("input[name=whatsapp]").get_attribute("value") or ""
        drop_form.locator("button").click()
        sim.wait_for_load_state("networkidle")
        time.sleep(3)
        console.goto(f"{WEB}/accounts/{dropped}/")
        console.screenshot(path=str(out / "06-account-after-disconnect.png"), full_page=True)

        agent = browser.new_page(viewport={"width": 390, "height": 844})
        sign_in(agent, "agent")
        agent.goto(f"{WEB}/qr/")
        agent.screenshot(path=str(out / "07-agent-qr-start-phone.png"), full_page=True)
        agent.get_by_role("button", name="Get the code").click()
        agent.wait_for_selector("#status")
        agent.screenshot(path=str(out / "08-agent-qr-code-phone.png"), full_page=True)
        sim.goto(f"{SIM}/_sim/")
        sim.screenshot(path=str(out / "09-sim-page-waiting-port.png"), full_page=True)
        # The phone: an offline account of the fleet scans the code.
        offline = sim.locator("form[action='/_sim/online'] input[name=whatsapp]").first
        number = offline.get_attribute("value") or ""
        scan = sim.locator("form[action='/_sim/scan']").first
        scan.locator("input[name=whatsapp]").fill(number)
        scan.get_by_role("button", name="Scan").click()
        sim.wait_for_load_state("networkidle")
        agent.wait_for_selector("#status[data-state=succeeded]", timeout=15000)
        agent.screenshot(path=str(out / "10-agent-qr-success-phone.png"), full_page=True)
        console.goto(f"{WEB}/accounts/")
        console.screenshot(path=str(out / "11-fleet-after.png"), full_page=True)
        browser.close()
    print(f"screenshots in {out}: {sorted(p.name for p in out.glob('*.png'))}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/demo"))
