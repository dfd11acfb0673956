"""QR and pair-code logins: lock a port, fetch the code, keep it fresh, learn the result.

The first calls (preGenerate, then getQrCode / getQrCodeV2) run inside the agent's request:
they are two short interactive calls, the agent is waiting for exactly their answer, and an
error can be shown on the form at once in plain words. A Celery round trip would add latency
and a polling step for nothing. Everything after that is driven by the page (code refresh,
result polling), by the beat sweeps (lock expiry) and by the result look-up
(`qr_sessions_poll_due`): while a session waits, and for a while after it expired,
getQrCodeInfo is asked at a modest, growing interval, so a lost syncLoginStatus webhook
never turns a success into an expiry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import acting_user, can, signed_in
from core.crypto import Secret
from core.ratelimit import TryLater
from core.roles import Cap
from ports import conf as ports_conf
from qrlogin import conf
from qrlogin import live as qrlogin_live
from qrlogin.errors import explain
from qrlogin.events import qr_session_finished
from qrlogin.models import FINAL_STATES, QrSession
from upstream import operations
from upstream.breaker import sweep
from upstream.errors import CircuitOpen, UpstreamError, UpstreamProblem

log = logging.getLogger(__name__)

OPEN_STATES = (QrSession.State.STARTING, QrSession.State.SHOWING)


def expired_words() -> str:
    return _(
        "The port's 10-minute lock ended before the phone scanned, so the vendor released "
        "the port. Start again to get a new code."
    )


ROTATION_SLACK_SECONDS = 2.0


def qr_rotation_seconds() -> float:
    """getQrCode is asked at most once per this many seconds for a session, whoever reads
    it (pages, their refreshes, the API): the page's refresh period less a little slack, so
    each of the page's refreshes finds a fresh code while any number of readers share one
    vendor call."""
    refresh = conf.qr_refresh_seconds()
    return max(refresh / 2, refresh - ROTATION_SLACK_SECONDS)


def _fail(session: QrSession, *, code: str, words: str) -> None:
    session.state = QrSession.State.FAILED
    session.reason_code = code
    session.reason = words[:255]
    session.qr_string = ""
    session.finished_at = timezone.now()
    with transaction.atomic():
        session.save(update_fields=["state", "reason_code", "reason", "qr_string", "finished_at"])
        qr_session_finished(session=session)  # the outbox (notify)
        qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)


class TooManyOpen(TryLater):
    """The user already has QR_SESSIONS_MAX_OPEN sessions waiting (each holds a port)."""


def qr_sessions_open_count(*, user: Any) -> int:
    """Sessions of `user` that still hold (or are about to hold) a port."""
    return _open_sessions(user).count()


def _open_sessions(user: Any) -> QuerySet[QrSession]:
    return QrSession.objects.filter(
        created_by=user, state__in=[QrSession.State.STARTING, QrSession.State.SHOWING]
    ).filter(Q(locked_until__isnull=True) | Q(locked_until__gt=timezone.now()))


def _check_open_cap(user: Any) -> None:
    """Agents may hold at most QR_SESSIONS_MAX_OPEN ports at once (each locks a cloud port
    of the company's quota for 10 minutes); supervisors and admins are not capped."""
    from django.conf import settings

    from core.access import sees_everything

    cap = settings.QR_SESSIONS_MAX_OPEN
    if sees_everything(user) or not signed_in(user):
        return
    if qr_sessions_open_count(user=user) >= cap:
        # The first lock to end frees a place (a session still starting: a whole lock).
        ends = _open_sessions(user).exclude(locked_until=None).aggregate(at=Min("locked_until"))
        wait = (ends["at"] - timezone.now()).total_seconds() if ends["at"] else 600
        raise TooManyOpen(
            _(
                "You already have %(n)d logins waiting for a scan (the limit is %(n)d): finish "
                "or cancel one, or wait until its 10-minute port lock ends."
            )
            % {"n": cap},
            retry_after=wait,
        )


def qr_session_start(
    *,
    user: Any,
    pc_type: int,
    target: str = "",
    mode: str = QrSession.Mode.QR,
    phone: str = "",
    is_easy: str = "",
    proxy: str | Secret = "",
    retry_of: QrSession | None = None,
) -> QrSession:
    """Lock a port and fetch its first code. Never raises for vendor problems: the
    session comes back FAILED with the reason in plain words (and no port when the lock
    itself failed). Raises TooManyOpen, before any vendor call, when the user's cap is
    reached."""
    _check_open_cap(user)
    session = QrSession.objects.create(
        created_by=acting_user(user),
        pc_type=pc_type,
        target=target or "",
        mode=mode,
        phone=phone if mode == QrSession.Mode.PAIR else "",
        is_easy=is_easy if mode == QrSession.Mode.PAIR else "",
        proxy=proxy if isinstance(proxy, Secret) else Secret(proxy or ""),  # type: ignore[misc]
        retry_of=retry_of,
    )
    try:
        port_id = operations.pre_generate(pc_type=pc_type, target=target or None)
    except UpstreamProblem as exc:
        code, words = explain(exc, manages_ports=can(user, Cap.MANAGE_PORTS))
        log.info("QR session %s: preGenerate failed (%s)", session.pk, code or "unavailable")
        _fail(session, code=code, words=words)
        return session
    now = timezone.now()
    session.port_id = port_id
    session.locked_until = now + timedelta(seconds=ports_conf.lock_seconds())
    session.state = QrSession.State.SHOWING
    session.next_poll_at = now + timedelta(seconds=result_poll_delay(0))
    session.save(update_fields=["port_id", "locked_until", "state", "next_poll_at"])
    return qr_session_refresh_code(session=session, force=True)


def _claim_ask(session: QrSession, *, force: bool) -> bool:
    """Win the one getQrCode ask of this rotation (a conditional update, so concurrent
    readers never both ask); False when another reader already asked in this rotation."""
    now = timezone.now()
    rows = QrSession.objects.filter(pk=session.pk)
    if not force:
        since = now - timedelta(seconds=qr_rotation_seconds())
        rows = rows.filter(Q(qr_asked_at__isnull=True) | Q(qr_asked_at__lte=since))
    if not rows.update(qr_asked_at=now):
        return False
    session.qr_asked_at = now
    return True


def qr_session_refresh_code(*, session: QrSession, force: bool = False) -> QrSession:
    """Fetch the current code from the vendor (getQrCode / getQrCodeV2), at most once per
    rotation for all readers together (`qr_rotation_seconds`); between asks every reader
    gets the stored code.

    The pair code is fetched once (asking again too often is refused by WhatsApp). When
    getQrCode stops giving a code while the vendor is up (a refusal, an empty or unreadable
    code: what some vendors answer once the phone has scanned), the result is looked up at
    once (getQrCodeInfo) and the session finished from it. When the fetch fails the old
    code is wiped so it can never be shown stale, and `qr_error` says why.
    """
    if session.state in FINAL_STATES or not session.port_id:
        return session
    if qr_session_expire_if_due(session=session):
        return session
    if session.mode == QrSession.Mode.PAIR and session.pair_code and not force:
        return session
    if not _claim_ask(session, force=force):
        session.refresh_from_db()  # what the reader that asked stored
        return session
    try:
        if session.mode == QrSession.Mode.PAIR:
            codes = operations.get_qr_code_v2(
                id=session.port_id,
                phone=session.phone,
                ip_config=session.proxy or None,
                is_easy=session.is_easy or None,
            )
            session.qr_string, session.pair_code = codes.qrcode, codes.pair_code
        else:
            session.qr_string = operations.get_qr_code(
                id=session.port_id, ip_config=session.proxy or None
            )
    except UpstreamError as exc:
        code, words = explain(exc)
        if _finished_by_look_up(session):
            return session
        if code == "1002":  # the port is gone: nothing more will come from it
            if session.locked_until and timezone.now() >= session.locked_until:
                qr_session_expire(session=session)
            else:
                _fail(session, code=code, words=words)
            return session
        _hide_code(session, words[:255])
        return session
    except UpstreamProblem as exc:
        if not is_outage(exc) and _finished_by_look_up(session):
            return session
        _code, words = explain(exc)
        _hide_code(
            session,
            _("The code could not be refreshed, so it is hidden: %(why)s") % {"why": words},
        )
        return session
    session.qr_fetched_at = timezone.now()
    session.qr_error = ""
    session.save(update_fields=["qr_string", "pair_code", "qr_fetched_at", "qr_error"])
    return session


def qr_session_read(*, session: QrSession) -> QrSession:
    """What every reader of a session (its page, the page's code refresh, the API) does
    before showing it: expire it when its lock ended, fetch the number and agent once after
    a success, otherwise refresh the code (shared, once per rotation) and make the result
    look-up if one is due (claimed, so many readers make one). Never a vendor call per
    request."""
    qr_session_expire_if_due(session=session)
    if session.state == QrSession.State.SUCCEEDED:
        return qr_session_fetch_info(session=session)
    if session.is_final:
        return session
    qr_session_refresh_code(session=session)  # a pair code is fetched once
    if not session.is_final and session.next_poll_at and session.next_poll_at <= timezone.now():
        with suppress(CircuitOpen):  # the sweep looks it up once the vendor is back
            qr_session_poll_result(session=session)
        session.refresh_from_db()
    return session


def is_outage(exc: UpstreamProblem) -> bool:
    """No answer from the vendor (unreachable, timed out, 5xx, paused): nothing to learn
    from a look-up now. Anything else was an answer."""
    from upstream.errors import NotSent

    if isinstance(exc, NotSent):
        return True
    return getattr(exc, "kind", "") in ("timeout", "connection", "http_error")


def _hide_code(session: QrSession, why: str) -> None:
    QrSession.objects.filter(pk=session.pk).update(qr_string="", qr_error=why[:255])
    session.qr_string, session.qr_error = "", why[:255]


def _finished_by_look_up(session: QrSession) -> bool:
    """getQrCode gave no code: ask getQrCodeInfo now (not at the next scheduled look-up)
    and finish the session from it. True when the session is final afterwards."""
    QrSession.objects.filter(pk=session.pk, next_poll_at__isnull=False).update(
        next_poll_at=timezone.now()
    )
    session.refresh_from_db()
    try:
        outcome = qr_session_poll_result(session=session)
    except CircuitOpen:
        return False
    session.refresh_from_db()
    log.info("QR session %s: getQrCode gave no code, look-up: %s", session.pk, outcome)
    return session.state in FINAL_STATES


def qr_session_expire(*, session: QrSession) -> bool:
    """Mark an open session expired (one conditional update). The vendor releases the
    port itself when its lock ends (seed: "if unused ... the port is released"); the seed
    has no release call to make."""
    now = timezone.now()
    with transaction.atomic():
        changed = QrSession.objects.filter(pk=session.pk, state__in=OPEN_STATES).update(
            **_expired_now(now)
        )
        if changed:
            session.refresh_from_db()
            qr_session_finished(session=session)  # the outbox (notify)
            qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)
    return bool(changed)


LOCK_END_TOLERANCE = timedelta(seconds=5)


def _expired_now(now: datetime) -> dict[str, Any]:
    """The columns an open session takes when it expires at `now`."""
    return {
        "state": QrSession.State.EXPIRED,
        "reason_code": "",
        "reason": expired_words(),
        "qr_string": "",
        "finished_at": now,
        "next_poll_at": now,  # one more look: the phone may have scanned, unreported
    }


def qr_session_expire_if_due(*, session: QrSession) -> bool:
    """Expire the session if its port lock has ended. The vendor also reports the lock's
    end as a failed login (syncLoginStatus status 0, no number): a failure without a
    number that arrived once the lock had (about) ended is shown as the expiry it is."""
    if not session.locked_until or timezone.now() < session.locked_until:
        return False
    if session.state in OPEN_STATES:
        return qr_session_expire(session=session)
    if (
        session.state == QrSession.State.FAILED
        and not session.whatsapp
        and not session.reason_code
        and session.finished_at is not None
        and session.finished_at >= session.locked_until - LOCK_END_TOLERANCE
    ):
        changed = QrSession.objects.filter(
            pk=session.pk, state=QrSession.State.FAILED, whatsapp=""
        ).update(state=QrSession.State.EXPIRED, reason=expired_words(), qr_string="")
        if changed:
            session.refresh_from_db()
            qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)
        return bool(changed)
    return False


def qr_sessions_expire_due(*, now: datetime | None = None) -> int:
    """The beat sweep: every open session whose port lock has ended becomes expired."""
    now = now or timezone.now()
    with transaction.atomic():
        due = QrSession.objects.select_for_update(skip_locked=True).filter(
            Q(state__in=OPEN_STATES) & Q(locked_until__lte=now)
        )
        expired = list(due.values_list("pk", "created_by_id"))
        ids = [pk for pk, _owner in expired]
        count = QrSession.objects.filter(pk__in=ids, state__in=OPEN_STATES).update(
            **_expired_now(now)
        )
        for session in QrSession.objects.filter(pk__in=ids, finished_at=now):
            qr_session_finished(session=session)  # the outbox (notify)
            qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)
    return count


def qr_session_fetch_info(*, session: QrSession) -> QrSession:
    """After a success: the number and the agent's name (getQrCodeInfo). Asked once; a
    failure leaves what the webhook told us."""
    if session.state != QrSession.State.SUCCEEDED or session.info_fetched_at is not None:
        return session
    session.info_fetched_at = timezone.now()
    try:
        rows = operations.get_qr_code_info(id=session.port_id)
    except UpstreamProblem as exc:
        log.info("QR session %s: getQrCodeInfo failed: %s", session.pk, exc)
        rows = []
    match = next((r for r in rows if r.whatsapp and r.whatsapp == session.whatsapp), None)
    match = match or next((r for r in rows if r.whatsapp), None)
    if match is not None:
        session.whatsapp = session.whatsapp or match.whatsapp
        session.user_name = match.user_name[:150]
    session.save(update_fields=["info_fetched_at", "whatsapp", "user_name"])
    return session


def qr_session_retry(*, session: QrSession, user: Any) -> QrSession:
    """A new session with the same choices; the proxy is reused from the encrypted store
    (it is never shown, so it cannot be typed back in)."""
    return qr_session_start(
        user=user,
        pc_type=session.pc_type,
        target=session.target,
        mode=session.mode,
        phone=session.phone,
        is_easy=session.is_easy,
        proxy=session.proxy or Secret(""),
        retry_of=session,
    )


# --- the result without the webhook -------------------------------------------------------


def result_poll_delay(polls: int) -> float:
    """Seconds until the next getQrCodeInfo look-up after `polls` look-ups: the base
    interval, doubling, capped (10, 20, 40, 60, 60 ... by default)."""
    base = max(0.0, conf.result_poll_seconds())
    return min(max(base, conf.result_poll_max_seconds()), base * (2 ** min(polls, 16)))


def _polled_states() -> Q:
    """Waiting sessions, and expired ones for a while (a late success still counts)."""
    late = timezone.now() - timedelta(seconds=conf.late_result_seconds())
    return Q(state__in=OPEN_STATES) | Q(state=QrSession.State.EXPIRED, finished_at__gte=late)


def qr_session_poll_result(*, session: QrSession) -> str:
    """Ask getQrCodeInfo once for a waiting (or recently expired) session's result.

    Claimed with a conditional update of `next_poll_at` (two sweeps never ask twice for one
    due look-up), which also schedules the next look-up with backoff. A row with `status` 1
    and a WhatsApp number is a success, applied exactly as the syncLoginStatus webhook
    would be (also over an expiry). 1002 means the vendor released the port: before the
    lock's end the login failed; after it, there is nothing more to learn. Raises
    CircuitOpen (the sweep stops); other vendor problems leave the next look-up scheduled.

    Returns "succeeded", "failed", "released", "waiting", "unavailable" or "skipped".
    """
    now = timezone.now()
    claimed = (
        QrSession.objects.filter(_polled_states(), pk=session.pk, next_poll_at__lte=now)
        .exclude(port_id="")
        .update(
            next_poll_at=now + timedelta(seconds=result_poll_delay(session.polls + 1)),
            polls=F("polls") + 1,
        )
    )
    if not claimed:
        return "skipped"
    try:
        rows = operations.get_qr_code_info(id=session.port_id)
    except CircuitOpen:
        raise
    except UpstreamError as exc:
        code, words = explain(exc)
        if code != "1002":
            log.info("QR session %s: getQrCodeInfo refused (%s)", session.pk, code)
            return "waiting"
        QrSession.objects.filter(pk=session.pk).update(next_poll_at=None)
        if session.locked_until and now < session.locked_until - LOCK_END_TOLERANCE:
            with transaction.atomic():
                failed = QrSession.objects.filter(pk=session.pk, state__in=OPEN_STATES).update(
                    state=QrSession.State.FAILED,
                    reason_code=code,
                    reason=words[:255],
                    qr_string="",
                    finished_at=now,
                )
                if failed:
                    session.refresh_from_db()
                    qr_session_finished(session=session)  # the outbox (notify)
            if failed:
                qrlogin_live.qr_session_changed(session_id=session.pk, owner=session.created_by_id)
                log.info("QR session %s: port released before its lock ended", session.pk)
                return "failed"
        return "released"
    except UpstreamProblem as exc:
        log.info("QR session %s: getQrCodeInfo unavailable: %s", session.pk, exc)
        return "unavailable"
    match = next((r for r in rows if r.status == 1 and r.whatsapp), None)
    if match is None:
        return "waiting"
    from qrlogin.services.results import qr_login_result_apply

    qr_login_result_apply(
        port_id=session.port_id, whatsapp=match.whatsapp, ok=True, received_at=now
    )
    QrSession.objects.filter(pk=session.pk, state=QrSession.State.SUCCEEDED).update(
        next_poll_at=None, user_name=match.user_name[:150], info_fetched_at=now
    )
    log.info("QR session %s: success learned by look-up (no webhook yet)", session.pk)
    return "succeeded"


def qr_sessions_poll_due(*, limit: int = 100) -> dict[str, int]:
    """The beat sweep: look up the result of every session whose look-up is due. Nothing
    is sent while the circuit breaker is open (the look-ups stay due); a breaker that
    opens during the sweep ends it."""

    def due() -> Iterable[QrSession]:
        now = timezone.now()
        # Expired sessions past the late window are not looked up any more.
        QrSession.objects.filter(state=QrSession.State.EXPIRED, next_poll_at__isnull=False).exclude(
            _polled_states()
        ).update(next_poll_at=None)
        return (
            QrSession.objects.filter(_polled_states(), next_poll_at__lte=now)
            .exclude(port_id="")
            .order_by("next_poll_at")[:limit]
        )

    return sweep(due, lambda session: qr_session_poll_result(session=session))
