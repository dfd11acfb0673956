"""The 29 seed operations: path, method, and a handler that validates the request the
way the vendor states it and answers from the state. A handler returns the envelope's
`data` (or `RawBody` for a pre-serialized answer) and raises BusinessError for an
envelope with a non-200 code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator import vendorcodes as vc
from simulator.state import VendorState
from simulator.state.fakes import pair_code
from simulator.state.records import BusinessError, refusal

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
# As strict as the seed: an int field takes a JSON integer (not "1"), a String field a JSON
# string (not 8618...), a required field must be there and not empty, and only the seed's
# spelling of a key counts. Each refusal is an envelope whose message names the field.


def _missing(name: str) -> BusinessError:
    return refusal(vc.PARAM_MISSING, name)


def _spelled(body: Body, name: str, others: tuple[str, ...]) -> None:
    """Refuse another spelling of `name` (the vendor reads only the seed's)."""
    for other in others:
        if other in body and name not in body:
            raise refusal(vc.PARAM_SPELLING, other, expected=name)


def text(body: Body, name: str, *, required: bool = False, others: tuple[str, ...] = ()) -> str:
    """A String field: a JSON string, non-empty when required."""
    _spelled(body, name, others)
    value = body.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return ""
    if not isinstance(value, str):
        raise refusal(vc.PARAM_TYPE, name, expected="String")
    result = value.strip()
    if required and not result:
        raise refusal(vc.PARAM_EMPTY, name)
    return result


def integer(
    body: Body,
    name: str,
    *,
    required: bool = False,
    allowed: tuple[int, ...] = (),
    others: tuple[str, ...] = (),
) -> int | None:
    """An int / Integer / Long field: a JSON integer (a numeric string is refused)."""
    _spelled(body, name, others)
    value = body.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise refusal(vc.PARAM_TYPE, name, expected="int")
    if allowed and value not in allowed:
        raise refusal(vc.PARAM_VALUE, name, expected=" or ".join(map(str, allowed)))
    return value


def req_int(body: Body, name: str, *, allowed: tuple[int, ...] = ()) -> int:
    value = integer(body, name, required=True, allowed=allowed)
    assert value is not None
    return value


def listing(body: Body, name: str, *, required: bool = True) -> list[Any]:
    value = body.get(name)
    if value is None:
        if required:
            raise _missing(name)
        return []
    if not isinstance(value, list):
        raise refusal(vc.PARAM_TYPE, name, expected="List")
    return value


def strings(body: Body, name: str, *, required: bool = True) -> list[str]:
    """A list of String entries (phoneList, batchRecycle's whatsAppList, callback ids)."""
    values = listing(body, name, required=required)
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise refusal(vc.PARAM_TYPE, f"{name}[{i}]", expected="String")
        if not value.strip():
            raise refusal(vc.PARAM_EMPTY, f"{name}[{i}]")
    return [v.strip() for v in values]


def objects(body: Body, name: str) -> list[dict[str, Any]]:
    rows = listing(body, name)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise refusal(vc.PARAM_TYPE, f"{name}[{i}]", expected="object")
    return rows


def tenant(s: VendorState, body: Body) -> int:
    """`tenantId` (Long): a JSON integer, and the company the vendor knows us by."""
    value = req_int(body, "tenantId")
    if value != s.options.tenant_id:
        raise refusal(vc.TENANT_FOREIGN, "tenantId")
    return value


def _in_row(i: int, exc: BusinessError) -> BusinessError:
    return BusinessError(exc.code, f"whatsAppList[{i}]: {exc.message}")


KEY_FIELDS = ("publicKey", "privateKey", "msgPublicKey", "msgPrivateKey")
OPTIONAL_TEXT = ("avatar", "name", "nextKeyId", "registrationId", "deviceParams")


def account_rows(body: Body, *, online: bool) -> list[dict[str, Any]]:
    """batchInsert (accountId required) and batchOnline (override required) rows: the
    number as `whatsApp`, the keys present and not empty, `whatsappType` 1 or 2."""
    rows = objects(body, "whatsAppList")
    required = KEY_FIELDS + (() if online else ("accountId",))
    optional = OPTIONAL_TEXT + (("accountId",) if online else ())
    for i, row in enumerate(rows):
        try:
            row["whatsApp"] = text(row, "whatsApp", required=True, others=("whatsapp", "whatsId"))
            for key in required:
                text(row, key, required=True)
            for key in optional:
                text(row, key)
            integer(row, "whatsappType", allowed=(1, 2))
            if online:
                if "override" not in row:
                    raise _missing("override")
                if not isinstance(row["override"], bool):
                    raise refusal(vc.PARAM_TYPE, "override", expected="boolean")
        except BusinessError as exc:
            raise _in_row(i, exc) from None
    return rows


# ---------------------------------------------------------------- account family
def batch_insert(s: VendorState, b: Body, q: Query) -> Any:
    s.import_accounts(account_rows(b, online=False))
    return ""


def query_whatsapp_status(s: VendorState, b: Body, q: Query) -> Any:
    return RawBody(s.status_bytes())


def batch_online(s: VendorState, b: Body, q: Query) -> Any:
    s.batch_online(account_rows(b, online=True))
    return ""


def batch_recycle(s: VendorState, b: Body, q: Query) -> Any:
    s.batch_recycle(strings(b, "whatsAppList", required=False))
    return ""


def submit_phone(s: VendorState, b: Body, q: Query) -> Any:
    phone = text(b, "phone", required=True)
    verify_type = req_int(b, "verifyType", allowed=(0, 1, 2, 3))
    account_type = req_int(b, "accountType", allowed=(1, 2))
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
    return integer(b, "source", required=required, allowed=allowed)


def query_user_status(s: VendorState, b: Body, q: Query) -> Any:
    source = _source(b, required=True)
    assert source is not None
    return s.query_user_status(
        user_id=integer(b, "userId"), user_name=text(b, "userName"), source=source
    )


def query_all_online(s: VendorState, b: Body, q: Query) -> Any:
    return s.query_all_online()


def query_whatsapp_info(s: VendorState, b: Body, q: Query) -> Any:
    # The seed types this one number as int, and its example sends a JSON number.
    number = integer(b, "whatsapp", required=True, others=("whatsApp", "whatsId"))
    return s.query_whatsapp_info(str(number), _source(b, required=False, allowed=(1, 2, 3)))


def query_user_status_log(s: VendorState, b: Body, q: Query) -> Any:
    source = _source(b, required=True)
    assert source is not None
    return s.query_status_log(
        agent_account=text(b, "agentAccount"),
        whatsapp=text(b, "whatsApp", others=("whatsapp", "whatsId")),
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


def _ip_config(b: Body) -> None:
    text(b, "ipConfig")


def get_qr_code(s: VendorState, b: Body, q: Query) -> Any:
    _ip_config(b)
    port = s.get_qr(text(b, "id"))
    return s.port_qr(port)


EASY_MODES = ("y", "n", "b")


def get_qr_code_v2(s: VendorState, b: Body, q: Query) -> Any:
    ident = text(b, "id", required=True)
    phone = text(b, "phone", required=True)
    _ip_config(b)
    mode = text(b, "isEasy") or None
    if mode is not None and mode not in EASY_MODES:
        raise refusal(vc.PARAM_VALUE, "isEasy", expected="y, n or b")
    port = s.get_qr(ident, phone=phone, mode=mode or "")
    return {"qrcode": s.port_qr(port), "pairCode": pair_code(port.seed, mode)}


def get_qr_code_info(s: VendorState, b: Body, q: Query) -> Any:
    # The seed's request field for the number has no name; the answer spells it whatsApp.
    ident = text(b, "id")
    whatsapp = text(b, "whatsApp", others=("whatsapp", "whatsId"))
    if not ident and not whatsapp:
        raise refusal(vc.PARAM_MISSING, "id or whatsApp")
    return s.qr_info(ident=ident, whatsapp=whatsapp)


def on_line(s: VendorState, b: Body, q: Query) -> Any:
    ident = text(b, "id", required=True)
    _ip_config(b)
    s.port_online(ident)
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
    type_ = req_int(b, "type")
    phones = strings(b, "phoneList")
    s.update_avatar_or_nickname(
        type_=type_,
        phones=phones,
        avatar=text(b, "avatar"),
        nickname=text(b, "nickname"),
    )
    return ""


# ---------------------------------------------------------------- wscrm-bus-api
def action_rows(b: Body) -> list[dict[str, Any]]:
    rows = objects(b, "data")
    if not rows:
        raise refusal(vc.PARAM_EMPTY, "data")
    for i, row in enumerate(rows):
        try:
            text(row, "agentAccount", required=True)
            text(row, "whatsId", others=("whatsApp", "whatsapp"))
            text(row, "friendWhatsId", required=True, others=("friendWhatsapp",))
            req_int(row, "platformType", allowed=(1, 2))
            text(row, "content")
            req_int(row, "type", allowed=(1,))
        except BusinessError as exc:
            raise BusinessError(exc.code, f"data[{i}]: {exc.message}") from None
    return rows


def batch_add(s: VendorState, b: Body, q: Query) -> Any:
    tenant_id = tenant(s, b)
    return s.batch_add(tenant_id=tenant_id, rows=action_rows(b))


def callback_result(s: VendorState, b: Body, q: Query) -> Any:
    tenant_id = tenant(s, b)
    return s.callback_result(tenant_id=tenant_id, ids=strings(b, "data"))


def task_create(s: VendorState, b: Body, q: Query) -> Any:
    user_id = integer(b, "userId")
    role = req_int(b, "allocationRole")
    return s.task_create(user_id=user_id, role=role).task_id


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
