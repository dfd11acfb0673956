"""The unsigned `/_sim/*` controls (for the person running the demo and for tests).

JSON in, JSON out; the HTML page's forms post `application/x-www-form-urlencoded` and get
a 303 back to `/_sim/`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from simulator.profiles import PROFILES
from simulator.state.records import BusinessError

if TYPE_CHECKING:
    from simulator.server import Simulator, _Handler


class ControlError(Exception):
    pass


def _bool(value: Any, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def _parse(headers: Any, raw: bytes) -> tuple[dict[str, Any], bool]:
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in form.items()}, True
    if not raw.strip():
        return {}, False
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body, False


def _need(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or str(value).strip() == "":
        raise ControlError(f"{name} is required")
    return str(value).strip()


OPTION_NAMES = {
    "qrRotate": "qr_rotate",
    "lockSeconds": "lock_seconds",
    "actionInterval": "action_interval",
    "actionDelay": "action_delay",
    "actionLoginWait": "action_login_wait",
    "loginDelay": "login_delay",
    "taskTimeout": "task_timeout",
    "maxPorts": "max_ports",
    "tenantId": "tenant_id",
}


def post(sim: Simulator, name: str, body: dict[str, Any]) -> Any:
    state = sim.state
    if name == "reset":
        sim.reset(demo=_bool(body.get("demo"), sim.demo))
        return {"reset": True}
    if name == "scan":
        status = body.get("taskStatus")
        return state.scan(
            _need(body, "id"),
            str(body.get("whatsapp") or "").strip(),
            _bool(body.get("ok"), True),
            int(status) if status not in (None, "") else None,
        )
    if name == "faults":
        kinds = body.get("kinds") or []
        if isinstance(kinds, str):
            kinds = [k.strip() for k in kinds.split(",") if k.strip()]
        paths = body.get("paths") or []
        if isinstance(paths, str):
            paths = [p.strip() for p in paths.split(",") if p.strip()]
        try:
            sim.set_faults(
                float(body.get("rate") or 0),
                list(kinds),
                paths=list(paths),
                timeout_seconds=(
                    float(body["timeoutSeconds"]) if body.get("timeoutSeconds") else None
                ),
                seed=int(body["seed"]) if body.get("seed") not in (None, "") else None,
            )
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        return {"rate": sim.faults.rate, "kinds": list(sim.faults.kinds)}
    if name == "ban":
        return {"whatsapp": state.ban(_need(body, "whatsapp")).whatsapp, "status": 40}
    if name == "disconnect":
        return {"whatsapp": state.disconnect(_need(body, "whatsapp")).whatsapp, "status": 20}
    if name == "online":
        acc = state.set_account(_need(body, "whatsapp"), online=True, emit=True)
        return {"whatsapp": acc.whatsapp, "status": 10}
    if name == "quota":
        affected = state.set_quota(int(_need(body, "maxPort")))
        return {
            "maxPort": state.max_ports,
            "currentPort": state.current_ports(),
            "offline": affected,
        }
    if name == "agents":
        rows = body.get("agents")
        if rows is None:
            rows = [body]
        out = []
        for row in rows:
            agent = state.upsert_agent(
                user_id=int(_need(row, "userId")),
                agent_account=_need(row, "agentAccount"),
                user_name=str(row.get("userName") or ""),
                online=_bool(row.get("online"), True),
            )
            out.append(
                {
                    "userId": agent.user_id,
                    "agentAccount": agent.agent_account,
                    "userName": agent.user_name,
                    "online": agent.online,
                }
            )
        return out
    if name == "accounts":
        rows = body.get("accounts")
        if rows is None:
            rows = [body]
        out = []
        for row in rows:
            online = row.get("online")
            acc = state.set_account(
                _need(row, "whatsapp"),
                online=None if online is None else _bool(online),
                agent_account=row.get("agentAccount"),
                source=int(row["source"]) if row.get("source") else None,
                name=row.get("name"),
                status=int(row["status"]) if row.get("status") else None,
                emit=_bool(row.get("emit"), False),
            )
            out.append({"whatsApp": acc.whatsapp, "onlineStatus": acc.online_status})
        return out
    if name == "options":
        values = {OPTION_NAMES[k]: v for k, v in body.items() if k in OPTION_NAMES and v != ""}
        state.set_options(**values)
        return dict(state.options.__dict__)
    if name == "quirks":
        sim.dispatcher.quirks = _bool(body.get("on"), True)
        return {"quirks": sim.dispatcher.quirks}
    if name == "withhold":
        # {"webhooks": ["syncLoginStatus", ...]} withholds later deliveries whose path ends
        # with one of them ([] stops); {"release": true} sends what was withheld.
        names = body.get("webhooks")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        if names is not None:
            if not isinstance(names, list):
                raise ControlError("webhooks must be a list of path endings")
            sim.dispatcher.set_withhold([str(n) for n in names])
        released = sim.dispatcher.release_withheld() if _bool(body.get("release"), False) else 0
        return {"withhold": list(sim.dispatcher.withhold), "released": released}
    if name == "profile":
        return sim.set_profile(_need(body, "name")).as_dict()
    if name == "webhook-base":
        sim.dispatcher.webhook_base = str(body.get("url") or "") or None
        return {"webhookBase": sim.dispatcher.webhook_base}
    if name == "targets":
        targets = body.get("targets")
        if not isinstance(targets, list):
            raise ControlError("targets must be a list")
        with state.lock:
            state.targets = [dict(t) for t in targets]
        return state.targets
    raise KeyError(name)


def get(sim: Simulator, name: str, query: dict[str, str]) -> Any:
    state = sim.state
    if name == "calls":
        calls = sim.calls()
        path = query.get("path")
        return [c for c in calls if not path or c["path"].endswith(path)]
    if name == "deliveries":
        return sim.dispatcher.deliveries()
    if name == "actions":
        with state.lock:
            state.tick()
            return {"violations": list(state.violations), "opened": list(state.opened)}
    if name == "registrations":
        return state.snapshot()["registrations"]
    if name == "profile":
        return {
            "current": sim.profile.name,
            "profiles": [p.as_dict() for p in PROFILES.values()],
        }
    if name == "state":
        snap = state.snapshot()
        snap["quirks"] = sim.dispatcher.quirks
        snap["webhookBase"] = sim.dispatcher.webhook_base
        snap["profile"] = sim.profile.name
        snap["faults"] = {"rate": sim.faults.rate, "kinds": list(sim.faults.kinds)}
        return snap
    raise KeyError(name)


def handle(
    req: _Handler, sim: Simulator, method: str, path: str, query: dict[str, str], raw: bytes
) -> None:
    name = path[len("/_sim") :].strip("/")
    if method == "GET" and name == "":
        from simulator.page import render

        req.send(200, render(sim).encode(), "text/html; charset=utf-8")
        return
    form = False
    try:
        if method == "POST":
            body, form = _parse(req.headers, raw)
            data = post(sim, name, body)
        elif method == "GET":
            data = get(sim, name, query)
        else:
            raise KeyError(name)
    except KeyError:
        req.send(404, _json({"code": 404, "message": f"no control {method} /_sim/{name}"}))
        return
    except (ControlError, ValueError) as exc:
        _answer_error(req, form, 400, str(exc))
        return
    except BusinessError as exc:
        _answer_error(req, form, 400, exc.message, code=exc.code)
        return
    if form:
        req.send(303, b"", "text/plain", {"Location": "/_sim/"})
        return
    req.send(200, _json({"code": 200, "message": "Success", "data": data}))


def _answer_error(req: _Handler, form: bool, status: int, message: str, code: int = 400) -> None:
    if form:
        from html import escape

        page = f'<p>{escape(message)}</p><p><a href="/_sim/">Back</a></p>'
        req.send(status, page.encode(), "text/html; charset=utf-8")
        return
    req.send(status, _json({"code": code, "message": message}))


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str).encode()
