"""Secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (first encrypts, all decrypt).

`EncryptedTextField` stores ciphertext and hands Python code a `Secret`, whose repr and
str never show the value, so a secret cannot leak through a template, a log line or an
error page by accident. Code that truly needs the clear text calls `.reveal()`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

REDACTED = "••••••"


class Secret:
    """A clear-text value that refuses to print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return REDACTED if self._value else ""

    __repr__ = __str__

    def __len__(self) -> int:
        return len(self._value)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a key was removed before rotation finished
        raise ValueError("secret cannot be decrypted with FIELD_ENCRYPTION_KEYS") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the first key."""
    return fernet().rotate(token.encode()).decode()


def encrypted_under_primary(token: str) -> bool:
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    try:
        primary.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A TextField whose database value is a Fernet token. Empty stays empty."""

    description = "Encrypted text"
    # django-stubs: what may be assigned, and what reading the attribute gives.
    _pyi_private_set_type: Secret | str | None  # type: ignore[assignment]
    _pyi_private_get_type: Secret  # type: ignore[assignment]

    def from_db_value(self, value: str | None, *_: Any) -> Secret | None:
        if value is None:
            return None
        return Secret(decrypt(value) if value else "")

    def to_python(self, value: Any) -> Secret | None:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(str(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        clear = value.reveal() if isinstance(value, Secret) else str(value)
        return encrypt(clear) if clear else ""

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisers (dumpdata, fixtures) get the ciphertext, never the clear text.
        return self.get_prep_value(self.value_from_object(obj)) or ""
