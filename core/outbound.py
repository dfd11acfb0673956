"""The outbound guard: connections to addresses that someone typed in (event subscription
URLs, alert channel URLs, avatar URLs) may only reach public internet addresses.

The check runs when a socket names its peer, on the address it is about to reach: the
`socket.connect`, `socket.sendto` and `socket.sendmsg` audit events (PEP 578), TCP and UDP
(a datagram sent with `sendto`, as Apprise's syslog plugin does, never connects), so a host
name that resolves to a public address when the URL is saved and to 127.0.0.1 when it is
used (DNS rebinding), a redirect to an internal host, or an Apprise plugin that opens its
own SMTP or HTTP connection is refused all the same. Loopback, private, link-local (cloud
metadata), shared, multicast and reserved addresses are refused unless they fall in
`OUTBOUND_ALLOWED_NETS` (an intranet deployment, or a test's local sink).
`AVATAR_FETCH_ALLOWED_NETS` is still honoured as an older name for the same list.

Usage::

    with outbound_guard():
        requests.post(url, ...)   # raises OutboundRefused (from socket.connect)

The guard is a context variable, so it follows the code into the threads Apprise starts
(it copies the context), and nothing else in the process (the database, Redis, the
vendor client) is affected.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ConnectionError):
    """A connection to a non-public address was refused by the outbound guard.

    A ConnectionError (an OSError), so HTTP clients treat it as a failed connection and
    give up on that address; `refusals()` tells the caller why."""

    def __init__(self, address: str) -> None:
        super().__init__(f"outbound connection to {address} refused (not a public address)")
        self.address = address


@dataclass
class _Guard:
    refused: list[str] = field(default_factory=list)


_ACTIVE: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar(
    "outbound_guard", default=None
)
_installed = False
_install_lock = threading.Lock()


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in spec if n.strip())


def allowed_networks() -> tuple[IPNetwork, ...]:
    spec = [
        *settings.OUTBOUND_ALLOWED_NETS,
        *settings.AVATAR_FETCH_ALLOWED_NETS,
    ]
    return _networks(tuple(spec))


def address_allowed(address: str | IPAddress) -> bool:
    """Public addresses, and those in OUTBOUND_ALLOWED_NETS."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed_networks() if net.version == ip.version):
        return True
    return ip.is_global and not ip.is_multicast


def _resolved(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


# Every audit event by which a socket names the peer it sends to; `send` and `sendall` go to
# the peer already checked at `connect`.
_PEER_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _PEER_EVENTS:
        return
    guard = _ACTIVE.get()
    if guard is None:
        return
    sock, address = args
    if address is None:  # sendmsg on a connected socket: its peer was checked at connect
        return
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        # A Unix socket names a file, not a network peer: never allowed under the guard.
        guard.refused.append(str(address))
        raise OutboundRefused(str(address))
    host, port = str(address[0]), int(address[1])
    for ip in _resolved(host, port):
        if not address_allowed(ip):
            guard.refused.append(ip)
            raise OutboundRefused(ip)


def install() -> None:
    """Register the audit hook once per process (hooks cannot be removed; it does nothing
    outside `outbound_guard()`)."""
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit)
            _installed = True


@contextmanager
def outbound_guard() -> Iterator[_Guard]:
    """Refuse connections to non-public addresses made inside the block (by this thread,
    and by threads started with a copy of its context)."""
    install()
    guard = _Guard()
    token = _ACTIVE.set(guard)
    try:
        yield guard
    finally:
        _ACTIVE.reset(token)


def url_host_allowed(url: str) -> bool:
    """A save-time check of a URL someone typed (an Apprise or HTTP URL): does its host
    resolve only to allowed addresses? Without a host (a token, a local service) there is
    nothing to check here; the connect-time guard still applies."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 0
    except ValueError:
        return True
    return not host or host_allowed(host, port)


def host_allowed(host: str, port: int) -> bool:
    """A save-time courtesy check (the connect-time guard is the real one): does `host`
    resolve only to allowed addresses? Unresolvable hosts are let through here."""
    try:
        return all(address_allowed(ip) for ip in _resolved(host, port))
    except (OSError, ValueError):
        return True
