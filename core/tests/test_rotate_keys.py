from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.models import AccountKeys, WhatsAppAccount

pytestmark = pytest.mark.django_db


def test_rotate_keys_reencrypts_under_the_first_key(
    settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    old = Fernet.generate_key().decode()
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]  # type: ignore[attr-defined]
    account = WhatsAppAccount.objects.create(whatsapp="8613800000001")
    AccountKeys.objects.create(account=account, private_key="PRIV-MARKER", public_key="PUB-MARKER")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # type: ignore[attr-defined]
    call_command("rotate_keys")
    assert "2 of 2 encrypted values re-encrypted" in capsys.readouterr().out
    # Readable with the new key alone: the old key can now be retired.
    settings.FIELD_ENCRYPTION_KEYS = [new]  # type: ignore[attr-defined]
    keys = AccountKeys.objects.get(account=account)
    assert keys.private_key.reveal() == "PRIV-MARKER"
    assert keys.public_key.reveal() == "PUB-MARKER"
    with connection.cursor() as cur:
        cur.execute("SELECT private_key FROM accounts_accountkeys")
        raw = cur.fetchone()[0]
    assert "PRIV-MARKER" not in raw
    # A second run has nothing left to do.
    call_command("rotate_keys")
    assert "0 of 2" in capsys.readouterr().out


def test_secret_never_prints_itself() -> None:
    from core.crypto import Secret

    secret = Secret("hunter2")
    assert "hunter2" not in str(secret)
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2"
