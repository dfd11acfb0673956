"""The Django admin names things as people say them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def test_admin_index_names_read_naturally(people: Any) -> None:
    page = client_for(people.admin).get("/admin/").content.decode()
    for name in ("WhatsApp accounts", "Action batches", "QR sessions"):
        assert f">{name}<" in page, name
    for raw in ("Whats app accounts", "Action batchs", "Qr sessions"):
        assert raw not in page, raw
