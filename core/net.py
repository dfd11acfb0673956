"""The client's address, the one way every part of Switchboard reads it.

The shipped layout is nginx in front of gunicorn on 127.0.0.1, so the direct peer
(`REMOTE_ADDR`) is usually the proxy. `X-Forwarded-For` is read only when the direct peer is
in `TRUSTED_PROXY_NETS`, from the right, skipping trusted proxies: the first address that is
not one is the client. Anyone else's `X-Forwarded-For` (and `X-Forwarded-Proto`) is ignored.

Used by django-axes (`AXES_CLIENT_IP_CALLABLE`), the webhook `ip` check, `/metrics`, the
CSP report limit and the logs (`core.middleware.RequestIdMiddleware`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=16)
def nets(values: tuple[str, ...], setting: str) -> tuple[Network, ...]:
    return parse_nets(values, setting)


def parse_address(text: str) -> Address | None:
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def address_in(address: Address | None, networks: Sequence[Network]) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


def _trusted() -> tuple[Network, ...]:
    return nets(tuple(settings.TRUSTED_PROXY_NETS), "TRUSTED_PROXY_NETS")


def peer_is_trusted_proxy(request: Any) -> bool:
    """Whether the direct peer is one of our reverse proxies (TRUSTED_PROXY_NETS)."""
    trusted = _trusted()
    peer = str(getattr(request, "META", {}).get("REMOTE_ADDR", "") or "")
    return bool(trusted) and address_in(parse_address(peer), trusted)


def client_address(request: Any) -> str:
    """The client's address: the direct peer, or read through X-Forwarded-For when (and only
    as far as) the hops are trusted proxies (TRUSTED_PROXY_NETS)."""
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    peer = str(meta.get("REMOTE_ADDR", "") or "")
    if not peer_is_trusted_proxy(request):
        return peer[:64]
    trusted = _trusted()
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "") or "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        client = hop
        if not address_in(parse_address(hop), trusted):
            break
    return client[:64]


def client_in(request: Any, networks: Sequence[str], setting: str) -> bool:
    """Whether the client address is in the comma list `networks` (a setting's value)."""
    return address_in(parse_address(client_address(request)), nets(tuple(networks), setting))


def parse_nets(
    raw: Iterable[str], setting: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in raw:
        text = item.strip()
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{setting}: {text!r} is not an address or network") from None
    return tuple(nets)
