"""The simulator's own page at /_sim/: plain HTML forms posting to /_sim/* (303 back)."""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.server import Simulator

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.3rem} h2{font-size:1.05rem;margin-top:1.6rem}
table{border-collapse:collapse;font-size:.85rem} td,th{border:1px solid #ccc;padding:.25rem .45rem}
th{background:#f3f3f3;text-align:left} code{word-break:break-all;font-size:.75rem}
form{display:inline;margin:0} input[type=text]{width:10rem} .muted{color:#777}
"""

PRESENCE = {10: "online", 20: "disconnected", 30: "offline", 40: "banned", None: "-"}
ONLINE = {1: "logging in", 2: "online", 3: "logging out", 4: "offline"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _masked(base: str | None) -> str:
    return re.sub(r"/hooks/[^/]+", "/hooks/[token]", base or "")


def _button(action: str, label: str, **fields: Any) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in fields.items()
    )
    return (
        f'<form method="post" action="/_sim/{action}">{hidden}<button>{_e(label)}</button></form>'
    )


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(sim: Simulator) -> str:
    snap = sim.state.snapshot()
    quota = snap["quota"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>Switchboard upstream simulator</title>",
        "<meta http-equiv='refresh' content='10'>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Upstream simulator</h1>",
        # A path token in the callback base is a secret: shown masked.
        f"<p>Webhooks to <code>{_e(_masked(sim.dispatcher.webhook_base) or '(none)')}</code>, "
        f"quirks {'on' if sim.dispatcher.quirks else 'off'}, "
        f"faults {sim.faults.rate:.0%} {_e(','.join(sim.faults.kinds) or '-')}. "
        f"Ports {quota['currentPort']} / {quota['maxPort']}. "
        "This page refreshes every 10 s.</p>",
    ]

    parts.append("<h2>QR sessions and cloud ports</h2>")
    port_rows = []
    for p in snap["ports"]:
        scan = (
            '<form method="post" action="/_sim/scan">'
            f'<input type="hidden" name="id" value="{_e(p["id"])}">'
            f'<input type="text" name="whatsapp" value="{_e(p["expectedPhone"])}" '
            'placeholder="WhatsApp number">'
            '<button name="ok" value="true">Scan</button>'
            '<button name="ok" value="false">Fail</button></form>'
            if not p["phone"]
            else ""
        )
        port_rows.append(
            [
                f"<code>{_e(p['id'])}</code><br><span class='muted'>{_e(p['portId'])}</span>",
                _e(p["phone"] or "-"),
                _e(PRESENCE.get(p["status"], p["status"])),
                _e(p["createTime"]),
                _e(f"{p['lockedFor']} s" if p["lockedFor"] is not None else "-"),
                f"<code>{_e(p['qrcode'])}</code>"
                + (f"<br>pair code <b>{_e(p['pairCode'])}</b>" if p["pairCode"] else ""),
                scan,
            ]
        )
    parts.append(
        _table(
            ["id / port", "phone", "status", "created", "lock", "current QR", "the phone"],
            port_rows,
            "No ports: pre-generate one from the console.",
        )
    )
    parts.append(
        '<p><form method="post" action="/_sim/quota">Quota (maxPort) '
        f'<input type="text" name="maxPort" value="{_e(quota["maxPort"])}" size="4">'
        "<button>Set</button></form></p>"
    )

    parts.append("<h2>PC scan tasks</h2>")
    task_rows = []
    for t in snap["tasks"]:
        scan = (
            '<form method="post" action="/_sim/scan">'
            f'<input type="hidden" name="id" value="{_e(t["taskId"])}">'
            '<input type="text" name="whatsapp" placeholder="WhatsApp number">'
            '<button name="ok" value="true">Scan</button>'
            '<button name="ok" value="false">Fail</button></form>'
            if t["status"] is None
            else ""
        )
        task_rows.append(
            [
                f"<code>{_e(t['taskId'])}</code>",
                _e(f"{t['agentAccount']} ({t['userId']})"),
                _e(", ".join(str(s) for s in t["history"]) or "waiting"),
                _e(t["whatsapp"] or "-"),
                f"<code>{_e(t['qrcode'])}</code>",
                scan,
            ]
        )
    parts.append(
        _table(
            ["task", "agent", "statuses", "whatsapp", "current QR", "the phone"],
            task_rows,
            "No scan tasks.",
        )
    )

    parts.append("<h2>Registrations</h2>")
    parts.append(
        _table(
            ["task", "phone", "verification code", "status"],
            [
                [
                    _e(r["taskId"]),
                    _e(f"{r['areaCode']} {r['phone']}"),
                    f"<b>{_e(r['verifyCode'])}</b>",
                    _e(r["status"]),
                ]
                for r in snap["registrations"]
            ],
            "No registrations.",
        )
    )

    parts.append(f"<h2>Accounts ({snap['accountCount']})</h2>")
    acc_rows = []
    for a in snap["accounts"][:200]:
        buttons = ""
        if a["status"] != 2:
            buttons = _button("ban", "Ban", whatsapp=a["whatsApp"])
            if a["onlineStatus"] == 2:
                buttons += " " + _button("disconnect", "Disconnect", whatsapp=a["whatsApp"])
            else:
                buttons += " " + _button("online", "Bring online", whatsapp=a["whatsApp"])
        acc_rows.append(
            [
                _e(a["whatsApp"]),
                _e(a["name"]),
                _e("banned" if a["status"] == 2 else "normal"),
                _e(ONLINE.get(a["onlineStatus"], a["onlineStatus"])),
                _e(a["agentAccount"] or "-"),
                _e({1: "pc", 2: "mobile", 3: "cloud"}.get(a["source"], a["source"])),
                buttons,
            ]
        )
    parts.append(
        _table(
            ["whatsapp", "name", "status", "online", "agent", "source", ""],
            acc_rows,
            "No accounts.",
        )
    )

    parts.append("<h2>Agents</h2>")
    parts.append(
        _table(
            ["userId", "agentAccount", "userName", "logged in"],
            [
                [
                    _e(a["userId"]),
                    _e(a["agentAccount"]),
                    _e(a["userName"]),
                    _e("yes" if a["online"] else "no"),
                ]
                for a in snap["agents"]
            ],
            "No agents.",
        )
    )

    parts.append("<h2>Recent open-chat actions</h2>")
    status = {0: "not executed", 1: "success", 2: "failed"}
    parts.append(
        _table(
            ["id", "agent", "whatsId", "friend", "result", "executed"],
            [
                [
                    f"<code>{_e(a['id'])}</code>",
                    _e(a["agentAccount"]),
                    _e(a["whatsId"]),
                    _e(a["friendWhatsId"]),
                    _e(status.get(a["executeStatus"])),
                    _e(a["executeTime"]),
                ]
                for a in reversed(snap["actions"][-30:])
            ],
            "No actions.",
        )
    )
    parts.append(f"<h2>Spacing violations ({len(snap['violations'])})</h2>")
    parts.append(
        _table(
            ["agent", "whatsId", "gap (s)", "interval (s)", "time"],
            [
                [
                    _e(v["agentAccount"]),
                    _e(v["whatsId"]),
                    _e(v["gap"]),
                    _e(v["interval"]),
                    _e(v["time"]),
                ]
                for v in snap["violations"][-30:]
            ],
            "None: every pair kept its spacing.",
        )
    )
    parts.append(
        "<h2>Controls</h2><p>"
        + _button("reset", "Reset to the demo state", demo="true")
        + " "
        + '<form method="post" action="/_sim/faults">Faults: rate '
        '<input type="text" name="rate" value="0.3" size="4"> kinds '
        '<input type="text" name="kinds" value="500,timeout,garbage,business">'
        "<button>Inject</button></form> "
        + _button("faults", "No faults", rate="0", kinds="")
        + "</p><p class='muted'>JSON: GET /_sim/state, /_sim/calls, /_sim/deliveries, "
        "/_sim/actions, /_sim/registrations.</p></body></html>"
    )
    return "".join(parts)
