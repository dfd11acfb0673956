"""Every page fits every screen, and the Chinese console speaks Chinese, in Chromium.

For each role, at 1366x768 and 390x844 (and 1024x768 for supervisors and admins), in
English and in zh-Hans, every page:

- does not scroll sideways (`document.documentElement.scrollWidth <= innerWidth`);
- has every visible button, link, input, select and summary inside the viewport's width
  (a control in a table that scrolls inside its box counts as off screen);
- has no table wider than its box (its last columns cut off, to be scrolled to);
- splits no short word, number or time inside a table cell across two lines;
- in zh-Hans, shows no English word outside the allow-list (codes, numbers, names, and the
  words the Chinese console keeps: WhatsApp, QR, PC, API, ...).

Screenshots of each page at each size in both languages go to artifacts/screens/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ports.services import ports_refresh
from qrlogin.models import QrSession
from tests.browser.test_a11y import PAGES, USERS, fleet, settle
from tests.browser.test_tour import NUMBERS
from tests.fixtures import PASSWORD

__all__ = ["fleet"]  # the fixture, shared with the accessibility walk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1366, "height": 768}
NARROW = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
SIZES = {
    "agent": [WIDE, PHONE],
    "supervisor": [WIDE, NARROW, PHONE],
    "admin": [WIDE, NARROW, PHONE],
}

# Pages beyond the accessibility walk's: the agent's own account (alice01's numbers are the
# odd ones of the tour's fleet), the alert pages, and the fleet list's filters.
EXTRA = {
    "agent": [("own-account", f"/accounts/{NUMBERS[1]}/")],
    "supervisor": [("alerts", "/notify/alerts/"), ("subscriptions", "/notify/subscriptions/")],
    "admin": [
        ("alerts", "/notify/alerts/"),
        ("channels", "/notify/channels/"),
        ("rules", "/notify/rules/"),
        ("subscriptions", "/notify/subscriptions/"),
        ("tokens", "/tokens/"),
    ],
}

# What a person may read in the Chinese console that looks like English: product and
# protocol names, units and file formats. Codes, ids and names with digits, dots or
# underscores (alice01, account_banned, 8613900000001) are not words and always pass.
ALLOWED_WORDS = {
    "whatsapp",
    "qr",
    "pc",
    "api",
    "csv",
    "json",
    "socks",
    "utc",
    "ip",
    "url",
    "http",
    "https",
    "switchboard",
    "id",
    "ok",
    "django",
    "swagger",
    "openapi",
    "redis",
    "postgresql",
    "celery",
    "sse",
    "pid",
    "ms",
    "s",
    "min",
    "h",
    "kb",
    "mb",
    "apprise",
    "authorization",
    "bearer",
    "healthz",
    "hmac",
    "standard",
    "webhooks",  # the "Standard Webhooks" signing scheme, a proper name
}
# The people and data of the seed: user names, agent names, a batch's name.
SEED_WORDS = {"ada", "sam", "alice", "bob", "olga", "morning", "follow", "ups", "hello"}
# The column names of the actions upload's CSV header, quoted in its help.
FORMAT_WORDS = {"content"}
# Names the vendor gives: its platforms and the simulator's tenant.
VENDOR_NAMES = {"android", "ios", "windows", "xxxx"}

LAYOUT_JS = r"""() => {
    const width = window.innerWidth;
    const off = [];
    const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary";
    for (const el of document.querySelectorAll(controls)) {
        if (el.closest(".visually-hidden, .skip-link, dialog:not([open])")) continue;
        if (!el.checkVisibility({visibilityProperty: true})) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (r.right > width + 1 || r.left < -1) {
            const label = (el.textContent || el.name || el.id || el.tagName).trim();
            off.push(label.slice(0, 40) + " @" + Math.round(r.left) + "-" + Math.round(r.right));
        }
    }
    // What sticks out: the outermost elements past the right edge (not inside a box that
    // scrolls or clips), named by tag, id and class, for the failure message.
    const wide = [];
    for (const el of document.body.querySelectorAll("*")) {
        const r = el.getBoundingClientRect();
        if (r.right <= width + 1 || !el.checkVisibility()) continue;
        const parent = el.parentElement.getBoundingClientRect();
        if (parent.right > width + 1 && el.parentElement !== document.body) continue;
        const cls = typeof el.className === "string" ? el.className.trim() : "";
        wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
            (cls ? "." + cls.split(/\s+/).join(".") : "") + " @" + Math.round(r.right));
    }
    // A table wider than its box scrolls inside it: its last columns are cut off the page
    // (wide tables drop priority columns instead, or stack on phones).
    const cut = [];
    for (const box of document.querySelectorAll(".table-wrap")) {
        if (!box.checkVisibility()) continue;
        if (box.scrollWidth > box.clientWidth + 1) {
            const t = box.querySelector("table");
            const th = t && t.querySelector("th");
            const head = th ? "table of " + th.textContent.trim().slice(0, 20) : "table";
            const name = t && t.id ? "table#" + t.id : (box.getAttribute("aria-label") || head);
            cut.push(name + " " + box.scrollWidth + ">" + box.clientWidth);
        }
    }
    // A short Latin word, number or time in a table cell drawn on two lines was split in
    // the middle ("Recei / ved", "86138000 / 0015"): the column was squeezed below the
    // word's width. Each line fragment of a text node is one client rect of its range.
    const split = [];
    const word = /^[A-Za-z0-9:.,+\-]{2,20}$/;
    for (const cell of document.querySelectorAll("main .table-wrap th, main .table-wrap td")) {
        if (!cell.checkVisibility() || cell.matches(".wrap-any")) continue;
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            // Codes and ids (<code>) may break anywhere by design; so may marked free text.
            if (node.parentElement.closest("code, .wrap-any")) continue;
            for (const token of node.textContent.split(/\s+/)) {
                if (!word.test(token)) continue;
                const at = node.textContent.indexOf(token);
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + token.length);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (tops.size > 1) split.push(token);
            }
        }
    }
    return {scrollWidth: document.documentElement.scrollWidth, width, off, cut,
            split: [...new Set(split)].slice(0, 6), wide: wide.slice(0, 4)};
}"""

TEXT_JS = """() => {
    const out = [];
    const skip = "code, pre, kbd, samp, script, style, noscript, [translate=no], #language";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!el || el.closest(skip) || !el.checkVisibility()) continue;
        const t = n.textContent.trim();
        if (t) out.push(t);
    }
    // Not title: a tooltip is where a word's code goes (the vendor's detail code, a rule key).
    for (const el of document.querySelectorAll("[placeholder], [aria-label]")) {
        if (el.closest(skip)) continue;
        for (const a of ["placeholder", "aria-label"]) {
            const v = el.getAttribute(a);
            if (v) out.push(v);
        }
    }
    out.push(document.title);
    return out;
}"""

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.@:/#-]*")


def english_words(texts: list[str]) -> set[str]:
    """Plain alphabetic words outside the allow-list (a token with a digit, an underscore,
    a dot, a slash or an @ is a code, an address or a name, not a sentence's word)."""
    found = set()
    for text in texts:
        for token in _TOKEN.findall(text):
            word = token.rstrip(".:-")
            if not word.isalpha():
                continue
            if word.isupper() and len(word) <= 5:
                continue  # an abbreviation or a code: CN, CRM, N
            if any(c.isupper() for c in word[1:]) and word[0].islower():
                continue  # an operation's name (queryUserStatus), shown as its code
            if word.lower() in ALLOWED_WORDS | SEED_WORDS | VENDOR_NAMES | FORMAT_WORDS:
                continue
            found.add(word)
    return found


def _signed_in(chromium: Any, base: str, role: str, viewport: dict[str, int], lang: str) -> Any:
    context = chromium.new_context(viewport=viewport)
    context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", USERS[role])
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _ports_in_use(ids: dict[str, Any], simulator: Any) -> None:
    """The Ports page with a row of every kind of control: the agent's QR login scanned (a
    port with a phone, logged in through Switchboard), read back from the vendor."""
    session = QrSession.objects.get(pk=ids["qr"])
    simulator.scan(session.port_id, "8613811112222")
    # The login's number, as its result webhook records it (no worker runs in this test).
    QrSession.objects.filter(pk=session.pk).update(whatsapp="8613811112222")
    ports_refresh()


CASES = [
    (role, lang, size["width"])
    for role, sizes in SIZES.items()
    for lang in ("en", "zh-hans")
    for size in sizes
]


@pytest.mark.parametrize(("role", "lang", "width"), CASES)
def test_every_page_fits_the_screen(
    role: str,
    lang: str,
    width: int,
    fleet: dict[str, Any],
    simulator: Any,
    live_server: Any,
    chromium: Any,
    artifacts: Path,
) -> None:
    base = live_server.url
    if role != "agent":
        _ports_in_use(fleet, simulator)
    size = next(s for s in SIZES[role] if s["width"] == width)
    shots = artifacts / "screens"
    shots.mkdir(exist_ok=True)
    layout: list[str] = []
    english: dict[str, set[str]] = {}
    page = _signed_in(chromium, base, role, size, lang)
    for name, path in [*PAGES[role](fleet), *EXTRA[role]]:
        page.goto(base + path)
        settle(page)
        found = page.evaluate(LAYOUT_JS)
        if found["scrollWidth"] > found["width"]:
            layout.append(
                f"{path}: the page is {found['scrollWidth']} px wide: {', '.join(found['wide'])}"
            )
        if found["off"]:
            layout.append(f"{path}: off screen: {', '.join(found['off'][:6])}")
        if found["cut"]:
            layout.append(f"{path}: cut off in its box: {', '.join(found['cut'][:4])}")
        if found["split"]:
            layout.append(f"{path}: words split inside a cell: {', '.join(found['split'])}")
        # The words are the same at every width: read them once, on the widest screen.
        if lang == "zh-hans" and size is WIDE:
            words = english_words(page.evaluate(TEXT_JS))
            if words:
                english[path] = words
        page.screenshot(path=str(shots / f"{role}-{name}-{width}-{lang}.png"), full_page=True)
    page.context.close()
    assert not layout, f"at {width} px ({lang}):\n" + "\n".join(layout)
    assert not english, "English in the Chinese console:\n" + "\n".join(
        f"{path}: {sorted(words)}" for path, words in english.items()
    )
