"""Small builders for accounts tests (real rows, no mocks)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import selectors
from accounts.models import AccountKeys, Agent, StatusEvent, WhatsAppAccount

KEYS = {
    "publicKey": "pub-KEY-SECRET-0001",
    "privateKey": "priv-KEY-SECRET-0001",
    "msgPublicKey": "msgpub-KEY-SECRET-0001",
    "msgPrivateKey": "msgpriv-KEY-SECRET-0001",
    "accountId": "acct-SECRET-0001",
}


def make_account(
    whatsapp: str, *, agent: str = "", with_keys: bool = False, **kw: Any
) -> WhatsAppAccount:
    agent_obj = Agent.objects.filter(agent_account=agent).first() if agent else None
    account = WhatsAppAccount.objects.create(
        whatsapp=whatsapp, agent=agent_obj, agent_account=agent, **kw
    )
    # Written past the services: mark the tiles' cached counts stale as they do, or a
    # page could show the counts an earlier test cached (10 s) for its own fleet.
    selectors.account_state_counts_stale()
    if with_keys:
        AccountKeys.objects.create(
            account=account,
            public_key=f"pub-{whatsapp}",
            private_key=f"priv-{whatsapp}",
            msg_public_key=f"mpub-{whatsapp}",
            msg_private_key=f"mpriv-{whatsapp}",
            vendor_account_id=f"acct-{whatsapp}",
        )
    return account


def make_event(
    whatsapp: str, status: int, detail: int | None, at: datetime | None = None, **kw: Any
) -> StatusEvent:
    at = at or timezone.now()
    return StatusEvent.objects.create(
        whatsapp=whatsapp,
        status=status,
        detail_status=detail,
        event_time=at,
        received_at=at,
        dedupe_key=f"{whatsapp}-{status}-{detail}-{at.timestamp()}-{StatusEvent.objects.count()}",
        **kw,
    )


def event_pages(*, size: int) -> list[selectors.Page[StatusEvent]]:
    """Every page of the whole status log, first to last, following the Next cursors."""
    pages: list[selectors.Page[StatusEvent]] = []
    cursor = None
    while True:
        page = selectors.event_list(
            events=StatusEvent.objects.all(),
            filters=selectors.EventFilters(),
            cursor=cursor,
            size=size,
        )
        pages.append(page)
        if not page.next_cursor:
            return pages
        cursor = page.next_cursor


def import_json(rows: list[dict[str, Any]], name: str = "accounts.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, json.dumps({"whatsAppList": rows}).encode(), content_type="application/json"
    )


def account_row(number: str, **kw: Any) -> dict[str, Any]:
    row = {"whatsApp": number, "name": f"n{number[-4:]}", "whatsappType": 1, **KEYS}
    row.update(kw)
    return row


def png_bytes(width: int, height: int) -> bytes:
    """A real PNG (Pillow-free to build, Pillow reads it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(raw)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()
