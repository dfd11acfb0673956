"""Cloud ports: the quota (selectCloudPort), the occupied ports (selectCloudPortDetail)
and the port operations (onLine, offline, logOut).

`port_quota_store` and `cloud_ports_store` are the one way to write PortQuota and
CloudPort from a vendor snapshot; the reconcile pass uses them too, so both paths share
the same upsert semantics: CloudPort is keyed by the vendor's port id as a string (ids are
larger than 2^53), a port missing from a full snapshot is marked released, and a port
nobody has logged in yet is locked until its creation time plus the lock period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.crypto import Secret
from ports import conf
from ports import live as ports_live
from ports.events import ports_refreshed
from ports.models import CloudPort, PortQuota, PortStatus
from upstream import operations
from upstream import types as ut
from upstream.errors import UpstreamError

log = logging.getLogger(__name__)

PORT_OPERATIONS = ("online", "offline", "logout")


@dataclass(frozen=True)
class LoginLookups:
    """What the QR login (above this app) knows of the logins made through Switchboard,
    registered in its AppConfig.ready (qrlogin/apps.py): the preGenerate id of the login
    that put a phone on a port created at a time (`pregenerate_id_for(phone=...,
    created_at_upstream=...)`, "" when none), and whether an id is such a login's."""

    pregenerate_id_for: Callable[..., str]
    is_login_id: Callable[[str], bool]


_logins = LoginLookups(pregenerate_id_for=lambda **_: "", is_login_id=lambda _id: False)


def register_login_lookups(lookups: LoginLookups) -> None:
    global _logins
    _logins = lookups


class PortNotLinked(Exception):
    """No id this deployment may send is known for the port (UPSTREAM_PORT_ID, see
    `port_call_ids`), so nothing is sent; the message says why in plain words."""


class PortRefused(UpstreamError):
    """The vendor answered "port does not exist" (1002) to every id we have for a port that
    is still listed: the message says so in plain words (not the QR login's 1002 help)."""

    explained = True


def port_not_linked_message() -> str:
    return _(
        "This port was not logged in through Switchboard, and UPSTREAM_PORT_ID=pregenerate "
        "sends only the id of a login made here. Log the account in through Switchboard "
        "(QR or pair code), or set UPSTREAM_PORT_ID to auto or port-list."
    )


def port_not_listed_message() -> str:
    return _(
        "The vendor has not listed this port yet, and UPSTREAM_PORT_ID=port-list sends only "
        "the port list's id: refresh the Ports page, then try again."
    )


def port_refused_message() -> str:
    return _(
        'The vendor does not know this port by any id we have (it answered "port does not '
        'exist"). It may have been released: refresh the Ports page. A port logged in '
        "elsewhere may need the id of its login: log the account in through Switchboard."
    )


def port_pregenerate_id(*, port: CloudPort) -> str:
    """The preGenerate id of the Switchboard login on this port: the stored one, or the one
    of the login that put the port's phone there (then stored). "" when unknown."""
    if port.pregenerate_id:
        return port.pregenerate_id
    found = _logins.pregenerate_id_for(
        phone=port.phone, created_at_upstream=port.created_at_upstream
    )
    if found:
        CloudPort.objects.filter(pk=port.pk, pregenerate_id="").update(pregenerate_id=found)
        port.pregenerate_id = found
    return found


def port_list_id(*, port: CloudPort) -> str:
    """The port list's (selectCloudPortDetail) id, "" for a row stored from a login result
    before the vendor listed the port (its key is then the preGenerate id)."""
    return "" if port.port_id == port.pregenerate_id else port.port_id


# In `auto`, which kind of id the vendor was last seen to accept for a port operation
# (after a "port does not exist" refusal of the other one): tried first from then on.
ACCEPTED_KIND_KEY = "upstream:port_id_kind"
PREGENERATE, PORT_LIST = "pregenerate", "port-list"


def port_id_setting() -> str:
    value = str(getattr(settings, "UPSTREAM_PORT_ID", "auto") or "auto").strip().lower()
    return value if value in (PREGENERATE, PORT_LIST) else "auto"


def port_call_ids(*, port: CloudPort) -> list[tuple[str, str]]:
    """The (kind, id) pairs to try for a port operation, in order, per UPSTREAM_PORT_ID:
    `pregenerate` and `port-list` send only that id; `auto` sends the preGenerate id for a
    port logged in through Switchboard and the port list's id otherwise (or the kind the
    vendor was last seen to accept first), then the other one once on a "port does not
    exist" refusal. Raises PortNotLinked when there is nothing to send."""
    ids = {PREGENERATE: port_pregenerate_id(port=port), PORT_LIST: port_list_id(port=port)}
    mode = port_id_setting()
    if mode in (PREGENERATE, PORT_LIST):
        if not ids[mode]:
            words = port_not_linked_message() if mode == PREGENERATE else port_not_listed_message()
            raise PortNotLinked(words)
        return [(mode, ids[mode])]
    order = [PREGENERATE, PORT_LIST]
    try:
        remembered = cache.get(ACCEPTED_KIND_KEY)
    except Exception:
        remembered = None
    if remembered == PORT_LIST:
        order.reverse()
    pairs = [(kind, ids[kind]) for kind in order if ids[kind]]
    if not pairs:
        raise PortNotLinked(port_refused_message())
    return pairs


def port_call_id(*, port: CloudPort | None) -> str:
    """The first id to send for `port` (see `port_call_ids`); raises PortNotLinked."""
    if port is None:
        raise PortNotLinked(port_refused_message())
    return port_call_ids(port=port)[0][1]


def port_unavailable_reason(*, port: CloudPort) -> str:
    """Why the port operations cannot be sent for `port` ("" when they can). Uses the
    `call_id` the port list selector annotates, when there, instead of a query per row."""
    mode = port_id_setting()
    if mode == PORT_LIST:
        return "" if port_list_id(port=port) else port_not_listed_message()
    if mode == PREGENERATE:
        known = getattr(port, "call_id", None)
        known = known if known is not None else port_pregenerate_id(port=port)
        return "" if known else port_not_linked_message()
    return ""


T = TypeVar("T")


def port_call(*, port: CloudPort, send: Callable[[str], T]) -> tuple[T, str]:
    """Send a port operation with the id UPSTREAM_PORT_ID chooses: `send(id)`. In `auto`, a
    "port does not exist" (1002) refusal of the first id is followed by one try with the
    other id, and the kind the vendor accepts is remembered. Returns (the answer, the id
    sent). Raises PortNotLinked (nothing sent), UpstreamProblem as `send` does (a 1002 for
    every id says so in plain words)."""
    try:
        pairs = port_call_ids(port=port)
    except PortNotLinked:
        if port_id_setting() != PORT_LIST or not port.phone:
            raise
        # Logged in moments ago: the vendor has listed the port since, under the id this
        # setting sends. One operation asked for it: ask for the port list once, then send.
        port = _listed_again(port)
        pairs = port_call_ids(port=port)
    for n, (kind, ident) in enumerate(pairs):
        try:
            result = send(ident)
        except UpstreamError as exc:
            if str(exc.code) != "1002":
                raise
            if n + 1 < len(pairs):
                log.info("port %s: the vendor refused the %s id, trying the other", port, kind)
                continue
            if len(pairs) > 1 or not port_pregenerate_id(port=port):
                raise PortRefused(
                    exc.code,
                    port_refused_message(),
                    operation=exc.operation,
                    vendor_message=exc.vendor_message,
                ) from exc
            raise
        if n > 0:  # the vendor took the other kind: try it first from now on
            try:
                cache.set(ACCEPTED_KIND_KEY, kind, None)
            except Exception:
                log.warning("port ids: cache unavailable, the accepted kind is not kept")
        if port.pk and kind == PREGENERATE and port.pregenerate_id != ident:
            CloudPort.objects.filter(pk=port.pk).update(pregenerate_id=ident)
        return result, ident
    raise PortNotLinked(port_refused_message())  # no pair: port_call_ids already raised


PORT_ID_MAX = 32  # CloudPort.port_id's length: a preGenerate id (32 hex) fits


def port_link_login(*, pregenerate_id: str, whatsapp: str, created_at: datetime | None) -> None:
    """A successful Switchboard login: its port is this account's at once (the port
    operations work right after "Online"). The listed port with that phone is linked to
    the login's id; when the vendor has not listed it yet, a row keyed by the login's id
    stands for it until the next full port list replaces it."""
    if not pregenerate_id or not whatsapp:
        return
    linked = CloudPort.objects.filter(
        Q(port_id=pregenerate_id) | Q(pregenerate_id=pregenerate_id)
    ).update(phone=whatsapp, released=False, pregenerate_id=pregenerate_id)
    if not linked:
        linked = CloudPort.objects.filter(phone=whatsapp, released=False, pregenerate_id="").update(
            pregenerate_id=pregenerate_id
        )
    if not linked and len(pregenerate_id) <= PORT_ID_MAX:
        CloudPort.objects.create(
            port_id=pregenerate_id,
            pregenerate_id=pregenerate_id,
            phone=whatsapp,
            status=PortStatus.ONLINE,
            created_at_upstream=created_at,
        )
    ports_live.ports_changed()


def port_quota_store(*, current_port: int, max_port: int) -> PortQuota:
    """Keep the single quota row up to date (creating it the first time)."""
    with transaction.atomic():
        _ports_lock()
        ports_live.ports_changed()  # the Ports page, once this commits
        quota = PortQuota.objects.select_for_update().order_by("-fetched_at", "-id").first()
        if quota is None:
            return PortQuota.objects.create(current_port=current_port, max_port=max_port)
        quota.current_port, quota.max_port = max(0, current_port), max(0, max_port)
        quota.save()  # fetched_at is auto_now
        PortQuota.objects.exclude(pk=quota.pk).delete()
        return quota


@dataclass(frozen=True)
class PortsStored:
    stored: int
    released: int


def _ports_lock() -> None:
    """One writer at a time for the port table (page refresh, reconcile, the beat task)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('switchboard.cloud_ports'))")


def cloud_ports_store(
    *, ports: Sequence[ut.CloudPort], seen_at: datetime | None = None, complete: bool = True
) -> PortsStored:
    """Upsert ports by id. With `complete` (a full selectCloudPortDetail answer), ports
    not in it are marked released, except those stored by a snapshot newer than this one
    (`seen_at` is when the call was made). A port nobody has logged in yet is locked until
    its creation time plus the lock period. The preGenerate id of a Switchboard login is
    linked to its port."""
    seen_at = seen_at or timezone.now()
    lock = timedelta(seconds=conf.lock_seconds())
    ids = []
    released = 0
    with transaction.atomic():
        _ports_lock()
        ports_live.ports_changed()  # the Ports page, once this commits
        known = {
            c.port_id: c
            for c in CloudPort.objects.filter(port_id__in=[p.id for p in ports if p.id])
        }
        for p in ports:
            if not p.id:
                continue
            ids.append(p.id)
            locked_until = p.create_time + lock if (p.create_time and not p.phone) else None
            before = known.get(p.id)
            if before is not None and before.seen_at and before.seen_at > seen_at:
                continue  # a newer snapshot already stored this port
            defaults: dict[str, Any] = {
                "phone": p.phone or "",
                "status": p.status,
                "created_at_upstream": p.create_time,
                "locked_until": locked_until,
                "released": False,
                "seen_at": seen_at,
            }
            if before is not None and before.phone and before.phone != (p.phone or ""):
                defaults["pregenerate_id"] = ""  # another number is on the port now
            port, _created = CloudPort.objects.update_or_create(port_id=p.id, defaults=defaults)
            port_pregenerate_id(port=port)
        if complete:
            released = (
                CloudPort.objects.exclude(port_id__in=ids)
                .filter(released=False)
                .filter(Q(seen_at__isnull=True) | Q(seen_at__lte=seen_at))
                .update(released=True, locked_until=None)
            )
    return PortsStored(stored=len(ids), released=released)


def ports_refresh() -> PortQuota:
    """Ask the vendor for the quota and the port details and store both (raises
    UpstreamProblem, storing nothing when the first call fails)."""
    quota = operations.select_cloud_port()
    stored = port_quota_store(current_port=quota.current_port, max_port=quota.max_port)
    asked_at = timezone.now()
    ports = operations.select_cloud_port_detail()
    with transaction.atomic():
        cloud_ports_store(ports=ports, seen_at=asked_at)
        ports_refreshed(quota=stored)  # names the accounts at risk (notify: alert, event)
    return stored


def _listed_again(port: CloudPort) -> CloudPort:
    """`port` as the vendor's port list gives it now (asked once; raises UpstreamProblem)."""
    ports_refresh()
    listed = (
        CloudPort.objects.filter(phone=port.phone, released=False)
        .exclude(port_id=F("pregenerate_id"))
        .order_by("-created_at_upstream")
        .first()
    )
    if listed is None:
        raise PortNotLinked(port_not_listed_message())
    return listed


def _resolve(port_id: str) -> CloudPort:
    """The port row for either of a port's ids. Raises PortNotLinked."""
    port = CloudPort.objects.filter(port_id=port_id).first() or (
        CloudPort.objects.filter(pregenerate_id=port_id).first() if port_id else None
    )
    if port is None and port_id and _logins.is_login_id(port_id):
        # A Switchboard login's preGenerate id whose port is not stored yet: unsaved, the
        # row stands for the port only for this call.
        return CloudPort(port_id=port_id, pregenerate_id=port_id)
    if port is None:
        raise PortNotLinked(port_refused_message())
    return port


def port_operate(*, actor: Any, port_id: str, operation: str, proxy: str | Secret = "") -> None:
    """Bring a port's account online (optionally through a proxy), take it offline, or log
    it out (which frees the port). `port_id` is either of the port's ids; the preGenerate
    id is sent. Audited; raises PortNotLinked (nothing sent) when only the application id
    is known, UpstreamProblem when the vendor says no.
    """
    if operation not in PORT_OPERATIONS:
        raise ValueError(f"unknown port operation {operation!r}")
    secret = proxy if isinstance(proxy, Secret) else Secret(proxy or "")
    port = _resolve(port_id)

    def send(ident: str) -> None:
        if operation == "online":
            operations.on_line(id=ident, ip_config=secret or None)
        elif operation == "offline":
            operations.offline(id=ident)
        else:
            operations.log_out(id=ident)

    _sent, call_id = port_call(port=port, send=send)
    rows = CloudPort.objects.filter(pk=port.pk) if port.pk else CloudPort.objects.none()
    before = rows.values("phone", "status").first()
    if operation == "logout":
        rows.update(released=True, locked_until=None)
    elif operation == "offline":
        rows.update(status=PortStatus.DISCONNECTED)
    else:
        rows.update(status=PortStatus.ONLINE)
    ports_live.ports_changed()
    audit_record(
        actor=actor,
        action=f"port.{operation}",
        target_type="cloud_port",
        target_id=port.port_id,
        before=before,
        after={"operation": operation, "with_proxy": bool(secret), "id_sent": call_id},
    )
    log.info("port %s: %s done", port_id, operation)
