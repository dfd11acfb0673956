"""One function per seed operation (29), keyword-only and typed. `from upstream import
operations` and call e.g. `operations.select_cloud_port()`.

Every function raises:
- `CircuitOpen` (a subclass of `UpstreamUnavailable`): not sent, the breaker is open;
- `UpstreamUnavailable`: timeout, connection error, 5xx, not JSON / not an envelope, or a
  `data` of a shape we cannot read (`client.UnexpectedResponse`); transient, tasks retry;
- `UpstreamError`: the vendor said no (envelope code != 200, or HTTP 401/403/4xx), with a
  plain-language message from the operation family's table.

The `parse_*` functions turn an envelope's `data` into typed objects; they accept any JSON
value and either return or raise `UnexpectedResponse` (tested with hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings

from upstream.client import Endpoint, UnexpectedResponse, call
from upstream.codes import Family
from upstream.parsing import (
    as_bool,
    as_int,
    as_records,
    as_str_id,
    as_text,
    clean_id,
    parse_vendor_time,
    pick_number,
)
from upstream.types import (
    AccountItem,
    AccountStatus,
    ActionItem,
    ActionResult,
    AgentAccounts,
    AgentStatusLog,
    AgentWhatsApp,
    CloudPort,
    Contact,
    OnlineAccountItem,
    OnlineInfo,
    PairTarget,
    PortQuota,
    Profile,
    QrCodeInfo,
    QrOrPairCode,
    SecretLike,
    SourceAgents,
    StatusLogEntry,
    reveal,
)

WSCRM = "/wscrm-bus-api"
GD = "/group-dispatch-api"

ENDPOINTS: dict[str, Endpoint] = {
    e.operation: e
    for e in (
        Endpoint("batch_add", "POST", f"{WSCRM}/open/action/batchAdd", Family.ACTION),
        Endpoint("callback_result", "POST", f"{WSCRM}/open/action/callbackResult", Family.ACTION),
        Endpoint("qr_task_create", "POST", f"{WSCRM}/qrCodeTask/create", Family.SCAN_TASK),
        Endpoint("qr_task_get_qr_code", "POST", f"{WSCRM}/qrCodeTask/getQrCode", Family.SCAN_TASK),
        Endpoint("batch_insert", "POST", f"{GD}/whatsapp/batchInsert", Family.ACCOUNT),
        Endpoint(
            "query_whatsapp_status", "GET", f"{GD}/whatsapp/queryWhatsAppStatus", Family.ACCOUNT
        ),
        Endpoint("batch_online", "POST", f"{GD}/whatsapp/batchOnline", Family.ACCOUNT),
        Endpoint("batch_recycle", "POST", f"{GD}/whatsapp/batchRecycle", Family.ACCOUNT),
        Endpoint("submit_phone", "POST", f"{GD}/register/submitPhone", Family.ACCOUNT),
        Endpoint("submit_verify_code", "POST", f"{GD}/register/submitVerifyCode", Family.ACCOUNT),
        Endpoint("select_pair_target", "GET", f"{GD}/qrCode/selectPairTarget", Family.QR),
        Endpoint("pre_generate", "POST", f"{GD}/qrCode/preGenerate", Family.QR),
        Endpoint("get_qr_code", "POST", f"{GD}/qrCode/getQrCode", Family.QR),
        Endpoint("get_qr_code_v2", "POST", f"{GD}/qrCode/getQrCodeV2", Family.QR),
        Endpoint("get_qr_code_info", "POST", f"{GD}/qrCode/getQrCodeInfo", Family.QR),
        Endpoint("on_line", "POST", f"{GD}/qrCode/onLine", Family.QR),
        Endpoint("offline", "POST", f"{GD}/qrCode/offline", Family.QR),
        Endpoint("log_out", "POST", f"{GD}/qrCode/logOut", Family.QR),
        Endpoint("select_cloud_port", "GET", f"{GD}/qrCode/selectCloudPort", Family.QR),
        Endpoint(
            "select_cloud_port_detail", "GET", f"{GD}/qrCode/selectCloudPortDetail", Family.QR
        ),
        Endpoint("select_contact", "GET", f"{GD}/qrCode/selectContact", Family.QR),
        Endpoint("contact_info", "POST", f"{GD}/qrCode/contact/info", Family.QR),
        Endpoint("info_profile", "POST", f"{GD}/qrCode/info/profile", Family.QR),
        Endpoint(
            "update_avatar_or_nickname",
            "POST",
            f"{GD}/channelInfo/updateAvatarOrNickname",
            Family.QR,
        ),
        Endpoint("query_user_status", "POST", f"{GD}/user/queryUserStatus", Family.ACCOUNT),
        Endpoint(
            "query_all_ol_whatsapp_info",
            "POST",
            f"{GD}/user/queryAllOlWhatsAppInfo",
            Family.ACCOUNT,
        ),
        Endpoint("query_whatsapp_info", "POST", f"{GD}/user/queryWhatsAppInfo", Family.ACCOUNT),
        Endpoint("query_user_status_log", "POST", f"{GD}/user/queryUserStatusLog", Family.ACCOUNT),
        Endpoint(
            "get_latest_online_whats_account",
            "POST",
            f"{GD}/user/getLatestOnlineWhatsAccount",
            Family.ACCOUNT,
        ),
    )
}


# --- helpers ------------------------------------------------------------------------------


def _id_or_int(value: int | str) -> int | str:
    """The seed types agent and target ids as int: send an int when the id is a plain
    number (exact at any size), the string otherwise."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() and not text.startswith("0") else text


def _records(data: Any, op: str) -> list[Mapping[str, Any]]:
    """A documented list: a list, a single object (the vendor's quirk), null or "" (empty)."""
    if data is None or data == "":
        return []
    if isinstance(data, Mapping | list):
        return as_records(data)
    raise UnexpectedResponse(f"upstream {op}: expected a list, got {type(data).__name__}")


def _object(data: Any, op: str) -> Mapping[str, Any] | None:
    """A documented object: an object, the first object of a list, or None for null/""/[]."""
    if data is None or data == "" or data == []:
        return None
    records = as_records(data)
    if records:
        return records[0]
    raise UnexpectedResponse(f"upstream {op}: expected an object, got {type(data).__name__}")


def _scalar_id(data: Any, op: str) -> str:
    """A documented id or string (`data: "ad51..."`, `data: 12`): required."""
    value = as_str_id(data)
    if not value:
        raise UnexpectedResponse(f"upstream {op}: expected an id, got {type(data).__name__}")
    return value


def _whatsapps(value: Any) -> tuple[AgentWhatsApp, ...]:
    return tuple(
        AgentWhatsApp(
            whatsapp=pick_number(r), name=as_text(r.get("name")), status=as_int(r.get("status"))
        )
        for r in as_records(value)
    )


def _agent(r: Mapping[str, Any]) -> AgentAccounts:
    return AgentAccounts(
        user_id=as_str_id(r.get("userId")),
        agent_account=as_str_id(r.get("agentAccount")),
        user_name=as_text(r.get("userName")),
        whatsapps=_whatsapps(r.get("whatsAppList", r.get("whatsappList"))),
    )


def _contact(r: Mapping[str, Any]) -> Contact:
    return Contact(
        whatsapp=pick_number(r),
        push_name=as_text(r.get("pushName")),
        is_friend=as_bool(r.get("isFriend")),
        first_name=as_text(r.get("firstName")),
        full_name=as_text(r.get("fullName")),
    )


def _account_body(item: AccountItem, *, online: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"whatsApp": item.whatsapp}
    if item.whatsapp_type is not None:
        body["whatsappType"] = item.whatsapp_type
    if online:
        body["override"] = bool(getattr(item, "override", False))
    if item.name:
        body["name"] = item.name
    if item.avatar:
        body["avatar"] = item.avatar
    body.update(
        {
            "publicKey": reveal(item.public_key),
            "privateKey": reveal(item.private_key),
            "msgPublicKey": reveal(item.msg_public_key),
            "msgPrivateKey": reveal(item.msg_private_key),
            "accountId": reveal(item.account_id),
            "nextKeyId": reveal(item.next_key_id),
            "registrationId": reveal(item.registration_id),
            "deviceParams": reveal(item.device_params),
        }
    )
    return body


def _put(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


# --- parsers (data -> typed) --------------------------------------------------------------


def parse_batch_add(data: Any) -> list[str]:
    """Callback ids in the order the actions were added ("" where the vendor gave none)."""
    if isinstance(data, list):
        return [as_str_id(x) for x in data]
    return [_scalar_id(data, "batch_add")]


def parse_callback_result(data: Any) -> list[ActionResult]:
    return [
        ActionResult(
            id=as_str_id(r.get("id")),
            tenant_id=as_str_id(r.get("tenantId")),
            agent_account=as_str_id(r.get("agentAccount")),
            whatsapp=pick_number(r),
            friend_whatsapp=as_str_id(r.get("friendWhatsId", r.get("friendWhatsapp"))),
            action_type=as_int(r.get("type")),
            execute_status=as_int(r.get("executeStatus")),
            execute_time=parse_vendor_time(r.get("executeTime")),
        )
        for r in _records(data, "callback_result")
        if as_str_id(r.get("id"))
    ]


def parse_scalar_id(data: Any) -> str:
    return _scalar_id(data, "id")


def parse_qr_string(data: Any) -> str:
    """A QR string (getQrCode, qrCodeTask/getQrCode): no control character in it (a code
    made only of them is no code)."""
    if isinstance(data, str) and (code := clean_id(data)):
        return code
    raise UnexpectedResponse(f"upstream: expected a QR string, got {type(data).__name__}")


def parse_nothing(data: Any) -> None:
    """Operations whose `data` is "" or [] on success: whatever came, nothing to read."""
    return None


def parse_query_whatsapp_status(data: Any) -> list[AccountStatus]:
    """The whole fleet (tens of thousands of rows): kept to one pass."""
    return [
        AccountStatus(
            whatsapp=number,
            status=as_int(r.get("status")),
            online_status=as_int(r.get("onlineStatus")),
        )
        for r in _records(data, "query_whatsapp_status")
        if (number := pick_number(r))
    ]


def parse_select_pair_target(data: Any) -> list[PairTarget]:
    return [
        PairTarget(
            target_tenant_id=as_str_id(r.get("targetTenantId")),
            target_tenant_name=as_text(r.get("targetTenantName")),
            create_time=parse_vendor_time(r.get("createTime")),
        )
        for r in _records(data, "select_pair_target")
        if as_str_id(r.get("targetTenantId"))
    ]


def parse_get_qr_code_v2(data: Any) -> QrOrPairCode:
    if isinstance(data, str) and (code := clean_id(data)):
        return QrOrPairCode(qrcode=code, pair_code="")
    r = _object(data, "get_qr_code_v2")
    if r is None:
        raise UnexpectedResponse("upstream get_qr_code_v2: no QR code nor pair code")
    return QrOrPairCode(
        qrcode=as_text(r.get("qrcode", r.get("qrCode"))).strip(),
        pair_code=as_text(r.get("pairCode")).strip(),
    )


def parse_get_qr_code_info(data: Any) -> list[QrCodeInfo]:
    return [
        QrCodeInfo(
            status=as_int(r.get("status")),
            user_name=as_text(r.get("userName")),
            whatsapp=pick_number(r),
        )
        for r in _records(data, "get_qr_code_info")
    ]


def parse_select_cloud_port(data: Any) -> PortQuota:
    r = _object(data, "select_cloud_port")
    if r is None:
        raise UnexpectedResponse("upstream select_cloud_port: no quota in the answer")
    return PortQuota(
        current_port=as_int(r.get("currentPort")) or 0, max_port=as_int(r.get("maxPort")) or 0
    )


def parse_select_cloud_port_detail(data: Any) -> list[CloudPort]:
    return [
        CloudPort(
            id=as_str_id(r.get("id")),
            phone=as_str_id(r.get("phone")),
            create_time=parse_vendor_time(r.get("createTime")),
            status=as_int(r.get("status")),
        )
        for r in _records(data, "select_cloud_port_detail")
        if as_str_id(r.get("id"))
    ]


def parse_select_contact(data: Any) -> list[Contact]:
    return [_contact(r) for r in _records(data, "select_contact")]


def parse_contact_info(data: Any) -> Contact | None:
    r = _object(data, "contact_info")
    return None if r is None else _contact(r)


def parse_info_profile(data: Any) -> Profile | None:
    r = _object(data, "info_profile")
    if r is None:
        return None
    return Profile(
        whatsapp=pick_number(r),
        push_name=as_text(r.get("pushName")),
        is_business=as_bool(r.get("isBusiness")),
        business_name=as_text(r.get("businessName")),
        avatar=as_text(r.get("avatar")),
        status=as_text(r.get("status")),
        chat_num=as_int(r.get("chatNum")),
        group_num=as_int(r.get("groupNum")),
        last_chat_time=parse_vendor_time(r.get("lastChatTime")),
    )


def parse_agents(data: Any) -> list[AgentAccounts]:
    """queryUserStatus and getLatestOnlineWhatsAccount."""
    return [_agent(r) for r in _records(data, "agents")]


def parse_query_all_ol_whatsapp_info(data: Any) -> list[SourceAgents]:
    return [
        SourceAgents(
            source=as_int(r.get("source")),
            agents=tuple(_agent(a) for a in as_records(r.get("list"))),
        )
        for r in _records(data, "query_all_ol_whatsapp_info")
    ]


def parse_query_whatsapp_info(data: Any) -> list[OnlineInfo]:
    """Documented as a list, answered as an object: both are read."""
    return [
        OnlineInfo(
            user_id=as_str_id(r.get("userId")),
            agent_account=as_str_id(r.get("agentAccount")),
            whatsapp=pick_number(r),
            source=as_int(r.get("source")),
        )
        for r in _records(data, "query_whatsapp_info")
    ]


def parse_query_user_status_log(data: Any) -> list[AgentStatusLog]:
    return [
        AgentStatusLog(
            user_id=as_str_id(r.get("userId")),
            agent_account=as_str_id(r.get("agentAccount")),
            entries=tuple(
                StatusLogEntry(
                    whatsapp=pick_number(e),
                    name=as_text(e.get("name")),
                    status=as_int(e.get("status")),
                    source=as_int(e.get("source")),
                    country_code=as_text(e.get("countryCode")),
                    detail_status=as_int(e.get("detailStatus")),
                    create_time=parse_vendor_time(e.get("createTime")),
                )
                for e in as_records(r.get("whatsAppList", r.get("whatsappList")))
            ),
        )
        for r in _records(data, "query_user_status_log")
    ]


PARSERS: dict[str, Callable[[Any], Any]] = {
    "batch_add": parse_batch_add,
    "callback_result": parse_callback_result,
    "qr_task_create": parse_scalar_id,
    "qr_task_get_qr_code": parse_qr_string,
    "batch_insert": parse_nothing,
    "query_whatsapp_status": parse_query_whatsapp_status,
    "batch_online": parse_nothing,
    "batch_recycle": parse_nothing,
    "submit_phone": parse_scalar_id,
    "submit_verify_code": parse_nothing,
    "select_pair_target": parse_select_pair_target,
    "pre_generate": parse_scalar_id,
    "get_qr_code": parse_qr_string,
    "get_qr_code_v2": parse_get_qr_code_v2,
    "get_qr_code_info": parse_get_qr_code_info,
    "on_line": parse_nothing,
    "offline": parse_nothing,
    "log_out": parse_nothing,
    "select_cloud_port": parse_select_cloud_port,
    "select_cloud_port_detail": parse_select_cloud_port_detail,
    "select_contact": parse_select_contact,
    "contact_info": parse_contact_info,
    "info_profile": parse_info_profile,
    "update_avatar_or_nickname": parse_nothing,
    "query_user_status": parse_agents,
    "query_all_ol_whatsapp_info": parse_query_all_ol_whatsapp_info,
    "query_whatsapp_info": parse_query_whatsapp_info,
    "query_user_status_log": parse_query_user_status_log,
    "get_latest_online_whats_account": parse_agents,
}


def _send(operation: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
    return call(ENDPOINTS[operation], body=body, params=params, parse=PARSERS[operation])


# --- wscrm-bus-api ------------------------------------------------------------------------


def batch_add(*, items: Sequence[ActionItem]) -> list[str]:
    """Queue open-chat actions; returns callback ids in the order of `items`."""
    data = []
    for item in items:
        row: dict[str, Any] = {"agentAccount": item.agent_account}
        if item.whatsapp:
            row["whatsId"] = item.whatsapp
        row["friendWhatsId"] = item.friend_whatsapp
        row["platformType"] = item.platform_type
        if item.content:
            row["content"] = item.content
        row["type"] = item.action_type
        data.append(row)
    return _send("batch_add", {"tenantId": settings.UPSTREAM_TENANT_ID, "data": data})  # type: ignore[no-any-return]


def callback_result(*, ids: Sequence[str]) -> list[ActionResult]:
    """Execution details of open-chat actions by callback id."""
    body = {"tenantId": settings.UPSTREAM_TENANT_ID, "data": [str(i) for i in ids]}
    return _send("callback_result", body)  # type: ignore[no-any-return]


def qr_task_create(*, allocation_role: int, user_id: int | str | None = None) -> str:
    """Create a PC QR scan task (allocationRole 1 random, 3 specified); returns the task id."""
    body: dict[str, Any] = {}
    if user_id is not None and str(user_id) != "":
        body["userId"] = _id_or_int(user_id)
    body["allocationRole"] = allocation_role
    return _send("qr_task_create", body)  # type: ignore[no-any-return]


def qr_task_get_qr_code(*, task_id: str) -> str:
    """The QR string of a scan task (call again until the scan succeeds)."""
    return _send("qr_task_get_qr_code", {"taskId": task_id})  # type: ignore[no-any-return]


# --- group-dispatch-api: whatsapp/ --------------------------------------------------------


def batch_insert(*, accounts: Sequence[AccountItem]) -> None:
    """Import accounts with their keys (revealed only into the request body)."""
    _send("batch_insert", {"whatsAppList": [_account_body(a, online=False) for a in accounts]})


def query_whatsapp_status() -> list[AccountStatus]:
    """Every account with status (1 normal, 2 banned) and onlineStatus (1-4)."""
    return _send("query_whatsapp_status")  # type: ignore[no-any-return]


def batch_online(*, accounts: Sequence[OnlineAccountItem | AccountItem]) -> None:
    """Bring accounts online (with their keys; `override` per item)."""
    _send("batch_online", {"whatsAppList": [_account_body(a, online=True) for a in accounts]})


def batch_recycle(*, whatsapps: Sequence[str]) -> None:
    """Recycle accounts by number."""
    _send("batch_recycle", {"whatsAppList": [str(w) for w in whatsapps]})


# --- register/ ----------------------------------------------------------------------------


def submit_phone(
    *, phone: str, verify_type: int, account_type: int, area_code: str, country_code: str
) -> str:
    """Start a registration; returns the vendor's task id (as a string)."""
    body = {
        "phone": phone,
        "verifyType": verify_type,
        "accountType": account_type,
        "areaCode": area_code,
        "countryCode": country_code,
    }
    return _send("submit_phone", body)  # type: ignore[no-any-return]


def submit_verify_code(*, phone: str, area_code: str, verify_code: str) -> None:
    _send("submit_verify_code", {"phone": phone, "verifyCode": verify_code, "areaCode": area_code})


# --- qrCode/ ------------------------------------------------------------------------------


def select_pair_target() -> list[PairTarget]:
    return _send("select_pair_target")  # type: ignore[no-any-return]


def pre_generate(*, pc_type: int, target: int | str | None = None) -> str:
    """Reserve a port (locked 10 minutes); `pc_type` is the seed's `type` (1 PC, 2 cloud PC).
    Returns the port / window id."""
    body: dict[str, Any] = {"type": pc_type}
    if target is not None and str(target) != "":
        body["target"] = _id_or_int(target)
    return _send("pre_generate", body)  # type: ignore[no-any-return]


def get_qr_code(*, id: str | None = None, ip_config: SecretLike | None = None) -> str:
    """The current QR string of a port (`2@ref,key,key,key,1`); call again to refresh."""
    body: dict[str, Any] = {}
    _put(body, "id", id)
    if ip_config:
        body["ipConfig"] = reveal(ip_config)
    return _send("get_qr_code", body)  # type: ignore[no-any-return]


def get_qr_code_v2(
    *,
    id: str,
    phone: str,
    ip_config: SecretLike | None = None,
    is_easy: str | None = None,
) -> QrOrPairCode:
    """QR string and pair code for a phone. `is_easy`: None (vendor default 88888888),
    "n" native, "y" easy (PPPP-1111), "b" fixed eight 8s."""
    body: dict[str, Any] = {"id": id, "phone": phone}
    if ip_config:
        body["ipConfig"] = reveal(ip_config)
    _put(body, "isEasy", is_easy)
    return _send("get_qr_code_v2", body)  # type: ignore[no-any-return]


def get_qr_code_info(*, id: str | None = None, whatsapp: str | None = None) -> list[QrCodeInfo]:
    """Login state of a port by its preGenerate id, or of a number's ports (status 0 not
    logged in, 1 logged in). One of them is required: the vendor refuses neither."""
    if not id and not whatsapp:
        raise ValueError("get_qr_code_info needs an id or a whatsapp")
    body: dict[str, Any] = {}
    _put(body, "id", id)
    _put(body, "whatsApp", whatsapp)
    return _send("get_qr_code_info", body)  # type: ignore[no-any-return]


def on_line(*, id: str, ip_config: SecretLike | None = None) -> None:
    body: dict[str, Any] = {"id": id}
    if ip_config:
        body["ipConfig"] = reveal(ip_config)
    _send("on_line", body)


def offline(*, id: str) -> None:
    _send("offline", {"id": id})


def log_out(*, id: str) -> None:
    _send("log_out", {"id": id})


def select_cloud_port() -> PortQuota:
    """Ports occupied (currentPort) and the quota (maxPort)."""
    return _send("select_cloud_port")  # type: ignore[no-any-return]


def select_cloud_port_detail() -> list[CloudPort]:
    """Occupied ports, ids as exact strings."""
    return _send("select_cloud_port_detail")  # type: ignore[no-any-return]


def select_contact(*, id: str | None = None) -> list[Contact]:
    """A cloud port's address book. May trigger the vendor's risk control."""
    params = {"id": id} if id is not None else None
    return _send("select_contact", params=params)  # type: ignore[no-any-return]


def contact_info(*, id: str, phone: str) -> Contact | None:
    """One contact of a cloud port (None when the vendor returns nothing). Risk control."""
    return _send("contact_info", {"id": id, "phone": phone})  # type: ignore[no-any-return]


def info_profile(*, id: str) -> Profile | None:
    """The logged-in account's profile (None when the vendor returns nothing)."""
    return _send("info_profile", {"id": id})  # type: ignore[no-any-return]


def update_avatar_or_nickname(
    *,
    device_type: int,
    phone_list: Sequence[str],
    avatar: str | None = None,
    nickname: str | None = None,
) -> None:
    """Set avatar and/or nickname. `device_type` is the seed's `type`: 0 physical device,
    1 cloud port (must be online)."""
    body: dict[str, Any] = {"type": device_type}
    _put(body, "avatar", avatar)
    _put(body, "nickname", nickname)
    body["phoneList"] = [str(p) for p in phone_list]
    _send("update_avatar_or_nickname", body)


# --- user/ --------------------------------------------------------------------------------


def query_user_status(
    *, source: int, user_id: int | str | None = None, user_name: str | None = None
) -> list[AgentAccounts]:
    """Online agents and their accounts for a source (1 pc, 2 mobile)."""
    body: dict[str, Any] = {}
    if user_id is not None and str(user_id) != "":
        body["userId"] = _id_or_int(user_id)
    body["source"] = source
    _put(body, "userName", user_name)
    return _send("query_user_status", body)  # type: ignore[no-any-return]


def query_all_ol_whatsapp_info() -> list[SourceAgents]:
    """Every online agent and account, grouped by source."""
    return _send("query_all_ol_whatsapp_info", {})  # type: ignore[no-any-return]


def query_whatsapp_info(*, whatsapp: str, source: int | None = None) -> list[OnlineInfo]:
    """Where an account is online (empty when it is not). source 3: cloud computers."""
    body: dict[str, Any] = {"whatsapp": _id_or_int(whatsapp)}
    _put(body, "source", source)
    return _send("query_whatsapp_info", body)  # type: ignore[no-any-return]


def query_user_status_log(
    *, source: int, agent_account: str | None = None, whatsapp: str | None = None
) -> list[AgentStatusLog]:
    """The latest 50 status log rows per agent."""
    body: dict[str, Any] = {}
    _put(body, "agentAccount", agent_account)
    _put(body, "whatsApp", whatsapp)
    body["source"] = source
    return _send("query_user_status_log", body)  # type: ignore[no-any-return]


def get_latest_online_whats_account(
    *, source: int, user_id: int | str | None = None
) -> list[AgentAccounts]:
    """The latest ten accounts online per agent, with status."""
    body: dict[str, Any] = {}
    if user_id is not None and str(user_id) != "":
        body["userId"] = _id_or_int(user_id)
    body["source"] = source
    return _send("get_latest_online_whats_account", body)  # type: ignore[no-any-return]


OPERATIONS: tuple[str, ...] = tuple(ENDPOINTS)

# Calls that create something at the vendor each time they are sent: after a timeout the
# vendor may have acted, so a blind retry can duplicate (an action, a port, a task, an SMS).
# Callers retrying these should reconcile first (e.g. callback_result, select_cloud_port_detail).
NOT_IDEMPOTENT: frozenset[str] = frozenset(
    {"batch_add", "pre_generate", "qr_task_create", "submit_phone", "submit_verify_code"}
)
