"""Avatar and nickname: validate the image before the vendor sees it, then queue the job.

WhatsApp wants a reachable image URL, square, 16, 32, 64 or 128 px. We fetch it ourselves
(one overall deadline, a size cap, public addresses only, every redirect checked again,
connecting to the very address that was checked: no second DNS look-up) and open it with
Pillow. Every fetch failure gets one generic message. OUTBOUND_ALLOWED_NETS (core.outbound,
shared with event deliveries and alert channels) lists private networks an intranet
deployment (or a test) may fetch from anyway.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter

from accounts.models import BulkJob, WhatsAppAccount
from accounts.services.fleet import JobError, bulk_job_create
from core.outbound import address_allowed, outbound_guard

ALLOWED_SIZES = (16, 32, 64, 128)
MAX_IMAGE_BYTES = 512 * 1024
FETCH_TIMEOUT = (3.0, 5.0)


class AvatarError(Exception):
    pass


MAX_REDIRECTS = 3


FETCH_DEADLINE = 8.0  # seconds for the whole fetch: every hop, connect and read


def _fetch_failed() -> AvatarError:
    """One message for every way the fetch fails (scheme, name, private address, refused,
    slow, HTTP status, redirects, size): the answer tells nothing about the network."""
    return AvatarError(
        _(
            "The avatar URL could not be fetched: it must be a public http(s) address that "
            "answers with an image of at most %(kb)s KiB within %(s)d seconds."
        )
        % {"kb": MAX_IMAGE_BYTES // 1024, "s": int(FETCH_DEADLINE)}
    )


def _resolve_public(url: str) -> tuple[str, str, int]:
    """(scheme, checked IP address, port) for `url`. Refuses other schemes, and hosts that
    resolve to loopback, private, link-local (cloud metadata) or reserved addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fetch_failed()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError):
        raise _fetch_failed() from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise _fetch_failed()
    if not all(address_allowed(address) for address in addresses):
        raise _fetch_failed()
    return parts.scheme, str(addresses[0]), port


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address that was checked; TLS still verifies the URL's host name."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def _get_pinned(url: str, deadline: float) -> requests.Response:
    """One GET of `url`, sent to its checked address (no second DNS look-up)."""
    scheme, address, port = _resolve_public(url)
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{host}:{port}").geturl()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _fetch_failed()
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: we connect where we checked
    session.mount(f"{scheme}://", _PinnedAdapter(parts.hostname or ""))
    return session.get(
        pinned,
        timeout=(min(FETCH_TIMEOUT[0], remaining), min(FETCH_TIMEOUT[1], remaining)),
        stream=True,
        allow_redirects=False,
        headers={"Accept": "image/*", "Host": parts.netloc.rsplit("@", 1)[-1]},
    )


def _fetch(url: str) -> bytes:
    """GET with one overall deadline and a size cap, following at most MAX_REDIRECTS
    redirects, each checked again (a public URL may redirect to an internal one)."""
    deadline = time.monotonic() + FETCH_DEADLINE
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            with _get_pinned(url, deadline) as resp:
                if resp.is_redirect:
                    url = urljoin(url, resp.headers.get("Location", ""))
                    continue
                if resp.status_code != 200:
                    raise _fetch_failed()
                body = bytearray()
                for chunk in resp.iter_content(16384):
                    body.extend(chunk)
                    if len(body) > MAX_IMAGE_BYTES or time.monotonic() > deadline:
                        raise _fetch_failed()
                return bytes(body)
    except requests.RequestException:
        raise _fetch_failed() from None
    raise _fetch_failed()


def avatar_check(*, url: str) -> tuple[int, int]:
    """Fetch `url` and check it is a square image of an allowed size; returns its size."""
    try:
        with outbound_guard():  # and checked again at connect time (core.outbound)
            body = _fetch(url)
    except requests.RequestException:
        raise _fetch_failed() from None
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
