"""Avatar and nickname: validate the image before the vendor sees it, then queue the job.

WhatsApp wants a reachable image URL, square, 16, 32, 64 or 128 px. We fetch it ourselves
(short timeouts, a size cap, public addresses only, every redirect checked again) and
open it with Pillow. OUTBOUND_ALLOWED_NETS (core.outbound) lists private networks an
intranet deployment (or a test) may fetch from anyway.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from accounts.models import BulkJob, WhatsAppAccount
from accounts.services.fleet import JobError, bulk_job_create
from core.outbound import address_allowed, outbound_guard

ALLOWED_SIZES = (16, 32, 64, 128)
MAX_IMAGE_BYTES = 512 * 1024
FETCH_TIMEOUT = (3.0, 5.0)


class AvatarError(Exception):
    pass


MAX_REDIRECTS = 3


def _check_target(url: str) -> None:
    """Refuse what a supervisor must not make the server fetch: other schemes, and hosts
    that resolve to loopback, private, link-local (cloud metadata) or reserved addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AvatarError(_("The avatar must be an http:// or https:// URL."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise AvatarError(
            _("The avatar URL cannot be reached (%(err)s).") % {"err": type(exc).__name__}
        ) from exc
    for info in infos:
        if not address_allowed(str(info[4][0])):
            raise AvatarError(_("The avatar URL must point to a public internet address."))


def _fetch(url: str) -> bytes:
    """GET with short timeouts and a size cap, following at most MAX_REDIRECTS redirects,
    each checked again (a public URL may redirect to an internal one)."""
    for _hop in range(MAX_REDIRECTS + 1):
        _check_target(url)
        with requests.get(
            url,
            timeout=FETCH_TIMEOUT,
            stream=True,
            allow_redirects=False,
            headers={"Accept": "image/*"},
        ) as resp:
            if resp.is_redirect:
                url = urljoin(url, resp.headers.get("Location", ""))
                continue
            if resp.status_code != 200:
                raise AvatarError(
                    _("The avatar URL answered HTTP %(code)s: it must be reachable.")
                    % {"code": resp.status_code}
                )
            body = bytearray()
            for chunk in resp.iter_content(16384):
                body.extend(chunk)
                if len(body) > MAX_IMAGE_BYTES:
                    raise AvatarError(
                        _("The avatar image is larger than %(kb)s KiB.")
                        % {"kb": MAX_IMAGE_BYTES // 1024}
                    )
            return bytes(body)
    raise AvatarError(_("The avatar URL redirects too many times."))


def avatar_check(*, url: str) -> tuple[int, int]:
    """Fetch `url` and check it is a square image of an allowed size; returns its size."""
    try:
        with outbound_guard() as guard:  # checked again at connect time (core.outbound)
            body = _fetch(url)
    except requests.RequestException as exc:
        if guard.refused:
            raise AvatarError(_("The avatar URL must point to a public internet address.")) from exc
        raise AvatarError(
            _("The avatar URL cannot be reached (%(err)s).") % {"err": type(exc).__name__}
        ) from exc
    try:
        with Image.open(io.BytesIO(body)) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError) as exc:
        raise AvatarError(_("The avatar URL does not point to an image.")) from exc
    if width != height or width not in ALLOWED_SIZES:
        raise AvatarError(
            _("The avatar is %(w)s×%(h)s px; it must be square: 16, 32, 64 or 128 px.")
            % {"w": width, "h": height}
        )
    return width, height


def profile_update_queue(
    *,
    actor: Any,
    accounts: Sequence[WhatsAppAccount],
    device_type: int,
    avatar: str = "",
    nickname: str = "",
) -> BulkJob:
    """Validate, then queue updateAvatarOrNickname for the accounts."""
    avatar, nickname = avatar.strip(), nickname.strip()
    if not avatar and not nickname:
        raise JobError(_("Give an avatar URL, a nickname, or both."))
    if device_type not in (0, 1):
        raise JobError(_("Choose physical device or cloud port."))
    if avatar:
        try:
            avatar_check(url=avatar)
        except AvatarError as exc:
            raise JobError(str(exc)) from exc
    return bulk_job_create(
        actor=actor,
        kind=BulkJob.Kind.PROFILE,
        accounts=accounts,
        params={"device_type": device_type, "avatar": avatar, "nickname": nickname},
    )
