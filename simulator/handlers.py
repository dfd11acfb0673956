"""The 29 seed operations: path, method, and a handler that validates the request the
way the vendor states it and answers from the state. A handler returns the envelope's
`data` (or `RawBody` for a pre-serialized answer) and raises BusinessError for an
envelope with a non-200 code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.state import VendorState
from simulator.state.fakes import pair_code
from simulator.state.records import BusinessError

Body = dict[str, Any]
Query = dict[str, str]


@dataclass(frozen=True)
class RawBody:
    content: bytes


Handler = Callable[[VendorState, Body, Query], Any]


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    family: str  # "qr", "account", "action", "scan_task"
    handler: Handler


# ---------------------------------------------------------------- validation helpers
def _missing(name: str) -> BusinessError:
    return BusinessError(400, f"Missing required parameter: {name}")


def req(body: Body, *names: str) -> Any:
    """The first present (non-None) of `names`; 400 when none is."""
    for name in names:
        if body.get(name) is not None:
            return body[name]
    raise _missing(names[0])


def text(body: Body, *names: str, required: bool = False) -> str:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool | dict | list):
            raise BusinessError(400, f"Parameter {name} must be a string")
        result = str(value).strip()
        if required and not result:
            raise BusinessError(400, f"Parameter {name} must not be empty")
        return result
    if required:
        raise _missing(names[0])
    return ""


def integer(body: Body, name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise _missing(name)
        return None
    if isinstance(value, bool):
        raise BusinessError(400, f"Parameter {name} must be an integer")
    try:
        return int(str(value).strip())
    except ValueError:
        raise BusinessError(400, f"Parameter {name} must be an integer") from None


def req_int(body: Body, name: str) -> int:
    value = integer(body, name, required=True)
    assert value is not None
    return value


def listing(body: Body, name: str, *, required: bool = True) -> list[Any]:
    value = body.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return []
    if not isinstance(value, list):
        raise BusinessError(400, f"Parameter {name} must be a list")
    return value


def objects(body: Body, name: str) -> list[dict[str, Any]]:
    rows = listing(body, name)
    if not all(isinstance(row, dict) for row in rows):
        raise BusinessError(400, f"Every entry of {name} must be an object")
    return rows


KEY_FIELDS = ("publicKey", "privateKey", "msgPublicKey", "msgPrivateKey")


def account_rows(body: Body, *, need_account_id: bool) -> list[dict[str, Any]]:
    rows = objects(body, "whatsAppList")
    for i, row in enumerate(rows):
        number = text(row, "whatsApp", "whatsapp")
        if not number:
            raise BusinessError(400, f"whatsAppList[{i}]: missing required parameter whatsApp")
        row["whatsApp"] = number
        wanted = KEY_FIELDS + (("accountId",) if need_account_id else ())
        for key in wanted:
            if key not in row or not isinstance(row[key], str):
                raise BusinessError(400, f"whatsAppList[{i}]: missing required parameter {key}")
    return rows


# ---------------------------------------------------------------- account family
def batch_insert(s: VendorState, b: Body, q: Query) -> Any:
    s.import_accounts(account_rows(b, need_account_id=True))
    return ""


def query_whatsapp_status(s: VendorState, b: Body, q: Query) -> Any:
    return RawBody(s.status_bytes())


def batch_online(s: VendorState, b: Body, q: Query) -> Any:
    rows = account_rows(b, need_account_id=False)
    for i, row in enumerate(rows):
        if "override" not in row:
            raise BusinessError(400, f"whatsAppList[{i}]: missing required parameter override")
        if not isinstance(row["override"], bool):
            raise BusinessError(400, f"whatsAppList[{i}]: override must be a boolean")
        # The vendor logs the account in with these keys: a row without them is refused.
        for key in KEY_FIELDS:
            if not row[key].strip():
                raise BusinessError(400, f"whatsAppList[{i}]: {key} must not be empty")
    s.batch_online(rows)
    return ""


def batch_recycle(s: VendorState, b: Body, q: Query) -> Any:
    numbers = listing(b, "whatsAppList", required=False)
    if not all(isinstance(n, str | int) and not isinstance(n, bool) for n in numbers):
        raise BusinessError(400, "whatsAppList must be a list of numbers")
    s.batch_recycle([str(n) for n in numbers])
    return ""


def submit_phone(s: VendorState, b: Body, q: Query) -> Any:
    phone = text(b, "phone", required=True)
    verify_type = req_int(b, "verifyType")
    account_type = req_int(b, "accountType")
    if verify_type not in (0, 1, 2, 3):
        raise BusinessError(400, "verifyType must be 0, 1, 2 or 3")
    if account_type not in (1, 2):
        raise BusinessError(400, "accountType must be 1 or 2")
    reg = s.submit_phone(
        phone=phone,
        verify_type=verify_type,
        account_type=account_type,
        area_code=text(b, "areaCode", required=True),
        country=text(b, "countryCode", required=True),
    )
    return reg.task_id


def submit_verify_code(s: VendorState, b: Body, q: Query) -> Any:
    s.submit_code(
        phone=text(b, "phone", required=True),
        area_code=text(b, "areaCode", required=True),
        code=text(b, "verifyCode", required=True),
    )
    return ""


def _source(b: Body, *, required: bool, allowed: tuple[int, ...] = (1, 2)) -> int | None:
    source = integer(b, "source", required=required)
    if source is not None and source not in allowed:
        raise BusinessError(400, f"source must be one of {allowed}")
    return source


def query_user_status(s: VendorState, b: Body, q: Query) -> Any:
    source = _source(b, required=True)
    assert source is not None
    return s.query_user_status(
        user_id=integer(b, "userId"), user_name=text(b, "userName"), source=source
    )


def query_all_online(s: VendorState, b: Body, q: Query) -> Any:
    return s.query_all_online()


def query_whatsapp_info(s: VendorState, b: Body, q: Query) -> Any:
    number = text(b, "whatsapp", "whatsApp", "whatsId", required=True)
    return s.query_whatsapp_info(number, _source(b, required=False, allowed=(1, 2, 3)))


def query_user_status_log(s: VendorState, b: Body, q: Query) -> Any:
    source = _source(b, required=True)
    assert source is not None
    return s.query_status_log(
        agent_account=text(b, "agentAccount"),
        whatsapp=text(b, "whatsApp", "whatsapp"),
        source=source,
    )


def latest_online(s: VendorState, b: Body, q: Query) -> Any:
    source = _source(b, required=True)
    assert source is not None
    return s.latest_online(user_id=integer(b, "userId"), source=source)


# ---------------------------------------------------------------- QR family
def select_pair_target(s: VendorState, b: Body, q: Query) -> Any:
    return list(s.targets)


def pre_generate(s: VendorState, b: Body, q: Query) -> Any:
    return s.pre_generate(type_=req_int(b, "type"), target=integer(b, "target")).session_id


def _id(b: Body) -> str:
    return text(b, "id")


def get_qr_code(s: VendorState, b: Body, q: Query) -> Any:
    port = s.get_qr(_id(b))
    return s.port_qr(port)


EASY_MODES = ("y", "n", "b")


def get_qr_code_v2(s: VendorState, b: Body, q: Query) -> Any:
    ident = text(b, "id", required=True)
    phone = text(b, "phone", required=True)
    mode = text(b, "isEasy") or None
    if mode is not None and mode not in EASY_MODES:
        raise BusinessError(400, "isEasy must be y, n or b")
    port = s.get_qr(ident, phone=phone, mode=mode or "")
    return {"qrcode": s.port_qr(port), "pairCode": pair_code(port.seed, mode)}


def get_qr_code_info(s: VendorState, b: Body, q: Query) -> Any:
    return s.qr_info(ident=_id(b), whatsapp=text(b, "whatsApp", "whatsapp"))


def on_line(s: VendorState, b: Body, q: Query) -> Any:
    s.port_online(text(b, "id", required=True))
    return []


def offline(s: VendorState, b: Body, q: Query) -> Any:
    s.port_offline(text(b, "id", required=True))
    return []


def log_out(s: VendorState, b: Body, q: Query) -> Any:
    s.port_logout(text(b, "id", required=True))
    return []


def select_cloud_port(s: VendorState, b: Body, q: Query) -> Any:
    with s.lock:
        return {"currentPort": s.current_ports(), "maxPort": s.max_ports}


def select_cloud_port_detail(s: VendorState, b: Body, q: Query) -> Any:
    from simulator.state.fakes import vendor_time

    with s.lock:
        s.tick()
        return [
            {
                "phone": p.phone,
                "createTime": vendor_time(p.created),
                "id": p.port_id,
                "status": p.status,
            }
            for p in sorted(s.ports.values(), key=lambda p: p.port_id)
        ]


def select_contact(s: VendorState, b: Body, q: Query) -> Any:
    ident = q.get("id", "")
    if not ident:
        return []
    return s.contacts(ident)


def contact_info(s: VendorState, b: Body, q: Query) -> Any:
    return s.contact_info(text(b, "id", required=True), text(b, "phone", required=True))


def info_profile(s: VendorState, b: Body, q: Query) -> Any:
    return s.profile(text(b, "id", required=True))


def update_avatar_or_nickname(s: VendorState, b: Body, q: Query) -> Any:
    phones = listing(b, "phoneList")
    s.update_avatar_or_nickname(
        type_=req_int(b, "type"),
        phones=[str(p) for p in phones],
        avatar=text(b, "avatar"),
        nickname=text(b, "nickname"),
    )
    return ""


# ---------------------------------------------------------------- wscrm-bus-api
ACTION_FIELDS = ("agentAccount", "friendWhatsId", "platformType", "type")


def batch_add(s: VendorState, b: Body, q: Query) -> Any:
    tenant = req_int(b, "tenantId")
    rows = objects(b, "data")
    if not rows:
        raise BusinessError(400, "data must not be empty")
    for i, row in enumerate(rows):
        for key in ACTION_FIELDS:
            if row.get(key) in (None, ""):
                raise BusinessError(400, f"data[{i}]: missing required parameter {key}")
        if integer(row, "platformType") not in (1, 2):
            raise BusinessError(400, f"data[{i}]: platformType must be 1 or 2")
        if integer(row, "type") != 1:
            raise BusinessError(400, f"data[{i}]: type must be 1")
    return s.batch_add(tenant_id=tenant, rows=rows)


def callback_result(s: VendorState, b: Body, q: Query) -> Any:
    tenant = req_int(b, "tenantId")
    ids = listing(b, "data")
    return s.callback_result(tenant_id=tenant, ids=[str(i) for i in ids])


def task_create(s: VendorState, b: Body, q: Query) -> Any:
    return s.task_create(user_id=integer(b, "userId"), role=req_int(b, "allocationRole")).task_id


def task_get_qr(s: VendorState, b: Body, q: Query) -> Any:
    return s.task_qr(text(b, "taskId", required=True))


GD = "/group-dispatch-api"
WS = "/wscrm-bus-api"

OPERATIONS: tuple[Operation, ...] = (
    Operation("batch_add", "POST", f"{WS}/open/action/batchAdd", "action", batch_add),
    Operation(
        "callback_result", "POST", f"{WS}/open/action/callbackResult", "action", callback_result
    ),
    Operation("qr_task_create", "POST", f"{WS}/qrCodeTask/create", "scan_task", task_create),
    Operation(
        "qr_task_get_qr_code", "POST", f"{WS}/qrCodeTask/getQrCode", "scan_task", task_get_qr
    ),
    Operation("batch_insert", "POST", f"{GD}/whatsapp/batchInsert", "account", batch_insert),
    Operation(
        "query_whatsapp_status",
        "GET",
        f"{GD}/whatsapp/queryWhatsAppStatus",
        "account",
        query_whatsapp_status,
    ),
    Operation("batch_online", "POST", f"{GD}/whatsapp/batchOnline", "account", batch_online),
    Operation("batch_recycle", "POST", f"{GD}/whatsapp/batchRecycle", "account", batch_recycle),
    Operation("submit_phone", "POST", f"{GD}/register/submitPhone", "account", submit_phone),
    Operation(
        "submit_verify_code",
        "POST",
        f"{GD}/register/submitVerifyCode",
        "account",
        submit_verify_code,
    ),
    Operation(
        "select_pair_target", "GET", f"{GD}/qrCode/selectPairTarget", "qr", select_pair_target
    ),
    Operation("pre_generate", "POST", f"{GD}/qrCode/preGenerate", "qr", pre_generate),
    Operation("get_qr_code", "POST", f"{GD}/qrCode/getQrCode", "qr", get_qr_code),
    Operation("get_qr_code_v2", "POST", f"{GD}/qrCode/getQrCodeV2", "qr", get_qr_code_v2),
    Operation("get_qr_code_info", "POST", f"{GD}/qrCode/getQrCodeInfo", "qr", get_qr_code_info),
    Operation("on_line", "POST", f"{GD}/qrCode/onLine", "qr", on_line),
    Operation("offline", "POST", f"{GD}/qrCode/offline", "qr", offline),
    Operation("log_out", "POST", f"{GD}/qrCode/logOut", "qr", log_out),
    Operation("select_cloud_port", "GET", f"{GD}/qrCode/selectCloudPort", "qr", select_cloud_port),
    Operation(
        "select_cloud_port_detail",
        "GET",
        f"{GD}/qrCode/selectCloudPortDetail",
        "qr",
        select_cloud_port_detail,
    ),
    Operation("select_contact", "GET", f"{GD}/qrCode/selectContact", "qr", select_contact),
    Operation("contact_info", "POST", f"{GD}/qrCode/contact/info", "qr", contact_info),
    Operation("info_profile", "POST", f"{GD}/qrCode/info/profile", "qr", info_profile),
    Operation(
        "update_avatar_or_nickname",
        "POST",
        f"{GD}/channelInfo/updateAvatarOrNickname",
        "qr",
        update_avatar_or_nickname,
    ),
    Operation(
        "query_user_status", "POST", f"{GD}/user/queryUserStatus", "account", query_user_status
    ),
    Operation(
        "query_all_ol_whatsapp_info",
        "POST",
        f"{GD}/user/queryAllOlWhatsAppInfo",
        "account",
        query_all_online,
    ),
    Operation(
        "query_whatsapp_info",
        "POST",
        f"{GD}/user/queryWhatsAppInfo",
        "account",
        query_whatsapp_info,
    ),
    Operation(
        "query_user_status_log",
        "POST",
        f"{GD}/user/queryUserStatusLog",
        "account",
        query_user_status_log,
    ),
    Operation(
        "get_latest_online_whats_account",
        "POST",
        f"{GD}/user/getLatestOnlineWhatsAccount",
        "account",
        latest_online,
    ),
)

BY_PATH: dict[str, Operation] = {op.path: op for op in OPERATIONS}
assert len(BY_PATH) == 29


def business_fault(op: Operation) -> BusinessError:
    """An injected business refusal (final) from the operation's own family: the QR
    family's documented codes, elsewhere the common "invalid request"."""
    if op.family == "qr":
        return (
            BusinessError(1001, "Current user cloud port quota is insufficient")
            if (op.name == "pre_generate")
            else BusinessError(1002, "Current port does not exist or has been released")
        )
    return BusinessError(400, "Request parameter error")


def busy_fault() -> BusinessError:
    """An injected "system busy" (transient: the vendor asks to try again later)."""
    return BusinessError(500, "System busy, please try again later")
