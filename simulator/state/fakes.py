"""Deterministic fake data the simulated vendor answers with: vendor times, QR strings,
pairing codes, address books and profiles (same inputs, same answers)."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from simulator.state.records import Account


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def vendor_zone() -> ZoneInfo:
    try:
        from django.conf import settings

        return _zone(settings.UPSTREAM_TIMEZONE)
    except Exception:  # settings not configured (plain-Python use)
        return _zone("Asia/Shanghai")


def vendor_time(ts: float) -> str:
    """ "YYYY-MM-DD HH:MM:SS" in the vendor's zone (Asia/Shanghai)."""
    return datetime.fromtimestamp(ts, vendor_zone()).strftime("%Y-%m-%d %H:%M:%S")


def _b64(rng: random.Random, n: int) -> str:
    return base64.b64encode(rng.randbytes(n)).decode()


def qr_string(seed: str, generation: int) -> str:
    """WhatsApp Web's shape: `2@<ref>,<noise key>,<identity key>,<adv secret>,1`. The ref
    changes with every refresh; the three keys belong to the session and stay."""
    keys = random.Random(f"keys:{seed}")
    ref = random.Random(f"ref:{seed}:{generation}")
    return f"2@{_b64(ref, 72)},{_b64(keys, 32)},{_b64(keys, 32)},{_b64(keys, 32)},1"


PAIR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"


def pair_code(seed: str, mode: str | None) -> str:
    """isEasy: absent or "b" -> "88888888"; "y" easy -> "PPPP-1111"; "n" native ->
    eight letters shown as "IVEA_IPON" (the seed's example)."""
    rng = random.Random(f"pair:{seed}:{mode}")
    if mode == "y":
        letter = rng.choice(PAIR_LETTERS)
        digit = str(rng.randrange(10))
        return f"{letter * 4}-{digit * 4}"
    if mode == "n":
        letters = "".join(rng.choice(PAIR_LETTERS) for _ in range(8))
        return f"{letters[:4]}_{letters[4:]}"
    return "88888888"


FIRST_NAMES = ("Ryan", "Mia", "Chen", "Lucia", "Amir", "Sofia", "Ken", "Ana", "Tunde", "Li")
LAST_NAMES = ("yu", "Garcia", "Wang", "Silva", "Khan", "Rossi", "Sato", "Lopez", "Ade", "Zhang")


def _rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def contact_for(owner: str, phone: str, *, is_friend: bool) -> dict[str, Any]:
    rng = _rng_for("contact", phone)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "whatsapp": phone,
        "pushName": f"{first} {last}",
        "isFriend": is_friend,
        "firstName": last if is_friend else "",
        "fullName": f"{first} {last}" if is_friend else "",
    }


def contacts_for(owner: str) -> list[dict[str, Any]]:
    """A deterministic address book for an account (5 to 12 entries, a few not friends)."""
    rng = _rng_for("book", owner)
    prefix = owner[:4] if len(owner) >= 4 else "8613"
    rows = []
    for i in range(rng.randint(5, 12)):
        number = prefix + "".join(str(rng.randrange(10)) for _ in range(9))
        rows.append(contact_for(owner, number, is_friend=i % 4 != 3))
    return rows


def profile_for(account: Account | None, phone: str) -> dict[str, Any]:
    rng = _rng_for("profile", phone)
    name = (account.name if account and account.name else None) or (
        f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    )
    business = (account.whatsapp_type == 2) if account else rng.random() < 0.3
    avatar = account.avatar if account and account.avatar else ""
    if not avatar:
        avatar = f"https://pps.whatsapp.net/v/t61.24694-24/{rng.randrange(10**15)}_n.jpg?ccb=11-4"
    return {
        "whatsapp": phone,
        "isBusiness": business,
        "businessName": name if business else "",
        "avatar": avatar,
        "pushName": name,
        "status": rng.choice(("Nihao", "Available", "Busy", "At work", "")),
        "chatNum": rng.randint(0, 200),
        "groupNum": rng.randint(0, 20),
        "lastChatTime": 1_770_000_000 + rng.randrange(10_000_000),
    }
