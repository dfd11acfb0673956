"""platformType (1 PC, 2 Android) is labelled wherever history is shown: the status log
and account pages, the CSV export and the status-events API."""

from __future__ import annotations

import csv
import io
from typing import Any, cast

import pytest

from accounts.tests.helpers import make_account, make_event
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def test_platform_type_is_labelled_in_pages_csv_and_api(people: Any) -> None:
    make_account("8613800000071", agent="agent01")
    make_event("8613800000071", 10, 12, platform=1)
    make_event("8613800000071", 20, 22, platform=2)
    make_event("8613800000071", 30, 31, platform=None)
    sup = client_for(people.supervisor)

    for url in ("/accounts/logs/", "/accounts/8613800000071/"):
        page = sup.get(url).content.decode()
        cell = '<td data-label="Platform">{}</td>'
        assert cell.format("PC") in page and cell.format("Android") in page, url
        assert cell.format("1") not in page and cell.format("2") not in page, url

    raw = b"".join(cast(Any, sup.get("/accounts/logs/export.csv")).streaming_content)
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert {(r["platform"], r["platform_label"]) for r in rows} == {
        ("1", "PC"),
        ("2", "Android"),
        ("", ""),
    }

    api = sup.get("/api/v1/status-events/?whatsapp=8613800000071").json()["results"]
    assert {(e["platform"], e["platform_display"]) for e in api} == {
        (1, "PC"),
        (2, "Android"),
        (None, ""),
    }


def test_the_account_page_labels_each_badge(people: Any) -> None:
    """Status, login state and presence are three facts: each badge says which it is, so
    "Online" never stands beside "Offline" unexplained."""
    from accounts.models import WhatsAppAccount

    make_account("8613800000072", agent="agent01", status=1, online_status=4, presence_status=10)
    page = client_for(people.supervisor).get("/accounts/8613800000072/").content.decode()
    assert "Status: Normal" in page and "Login: Offline" in page and "Presence: Online" in page
    WhatsAppAccount.objects.filter(whatsapp="8613800000072").update(online_status=None)
    page = client_for(people.supervisor).get("/accounts/8613800000072/").content.decode()
    assert "Login: unknown" in page
