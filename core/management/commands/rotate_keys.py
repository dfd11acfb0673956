"""Re-encrypt every encrypted field under the first FIELD_ENCRYPTION_KEYS key."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.crypto import EncryptedTextField, encrypted_under_primary, rotate


class Command(BaseCommand):
    help = "Re-encrypt all secrets under the first key of FIELD_ENCRYPTION_KEYS; reports the count."

    def handle(self, *args: Any, **options: Any) -> None:
        total = rotated = 0
        qn = connection.ops.quote_name
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table, pk = qn(model._meta.db_table), qn(str(model._meta.pk.column))
            cols = ", ".join(qn(str(f.column)) for f in fields)
            with transaction.atomic(), connection.cursor() as cur:
                # Raw rows: the ciphertext itself, never the clear text, is handled here.
                cur.execute(f"SELECT {pk}, {cols} FROM {table}")  # noqa: S608 - names from _meta
                for row in cur.fetchall():
                    updates = {}
                    for field, value in zip(fields, row[1:], strict=True):
                        if not value:
                            continue
                        total += 1
                        if not encrypted_under_primary(value):
                            updates[str(field.column)] = rotate(value)
                    if updates:
                        rotated += len(updates)
                        sets = ", ".join(f"{qn(c)} = %s" for c in updates)
                        cur.execute(
                            f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # noqa: S608
                            [*updates.values(), row[0]],
                        )
        self.stdout.write(
            f"rotate_keys: {rotated} of {total} encrypted values re-encrypted under the first key."
        )
