"""Every door of the accounts console, for every role; htmx fragments; keyset paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import selectors
from accounts.models import BulkJob, BulkJobItem, Registration, WhatsAppAccount
from accounts.tests.helpers import event_pages, make_account, make_event
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def fleet(people: Any) -> dict[str, WhatsAppAccount]:
    return {
        "alice": make_account("8613800000001", agent="alice01", name="Alice phone"),
        "bob": make_account("8613800000002", agent="bob01", name="Bob phone"),
        "free": make_account("8613800000003", name="Nobody's"),
    }


def test_fleet_list_scoped_per_role(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    expect = {
        "supervisor": {"8613800000001", "8613800000002", "8613800000003"},
        "admin": {"8613800000001", "8613800000002", "8613800000003"},
        "agent": {"8613800000001"},
        "peer": {"8613800000002"},
        "outsider": set(),
    }
    for role, user in people.all().items():
        resp = client_for(user).get("/accounts/")
        if user is None:
            assert resp.status_code == 302 and "/login/" in resp["Location"]
            continue
        assert resp.status_code == 200, role
        body = resp.content.decode()
        for number in ("8613800000001", "8613800000002", "8613800000003"):
            assert (number in body) == (number in expect[role]), (role, number)


def test_detail_doors(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    url = "/accounts/8613800000001/"
    assert client_for(None).get(url).status_code == 302
    assert client_for(people.agent).get(url).status_code == 200
    assert client_for(people.peer).get(url).status_code == 404
    assert client_for(people.outsider).get(url).status_code == 404
    assert client_for(people.supervisor).get(url).status_code == 200
    assert client_for(people.peer).get("/accounts/8613800000001/timeline.json").status_code == 404
    assert client_for(people.peer).get("/accounts/nope/").status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/accounts/import/", "/accounts/register/"],
)
def test_supervisor_only_pages(people: Any, url: str) -> None:
    assert client_for(None).get(url).status_code == 302
    for user in (people.agent, people.peer, people.outsider):
        assert client_for(user).get(url).status_code == 403
    assert client_for(people.supervisor).get(url).status_code == 200
    assert client_for(people.admin).get(url).status_code == 200


def test_agents_and_logs_need_their_capability(people: Any) -> None:
    for url in ("/accounts/agents/", "/accounts/logs/", "/accounts/logs/export.csv"):
        assert client_for(None).get(url).status_code == 302
        for user in (people.agent, people.outsider):
            assert client_for(user).get(url).status_code == 403, url
        assert client_for(people.supervisor).get(url).status_code == 200, url


def test_agent_cannot_act_on_accounts(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    agent = client_for(people.agent)
    own = fleet["alice"]
    resp = agent.post("/accounts/bulk/online/", {"ids": [own.pk]})
    assert resp.status_code == 403
    resp = agent.post(f"/accounts/{own.whatsapp}/action/", {"action": "recycle"})
    assert resp.status_code == 403
    assert not BulkJob.objects.exists()


def test_peer_cannot_see_others_job(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    sup = client_for(people.supervisor)
    resp = sup.post("/accounts/bulk/recycle/", {"ids": [fleet["bob"].pk], "confirmed": "1"})
    job = BulkJob.objects.get()
    assert resp["Location"] == f"/accounts/jobs/{job.pk}/"
    assert client_for(people.peer).get(f"/accounts/jobs/{job.pk}/").status_code == 404
    assert sup.get(f"/accounts/jobs/{job.pk}/").status_code == 200


def test_htmx_requests_get_fragments(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    sup = client_for(people.supervisor)
    full = sup.get("/accounts/")
    assert b"<html" in full.content
    frag = sup.get("/accounts/?q=Alice", headers=HTMX)
    assert frag.status_code == 200
    assert b"<html" not in frag.content
    assert b"8613800000001" in frag.content and b"8613800000002" not in frag.content
    logs = sup.get("/accounts/logs/?status=40", headers=HTMX)
    assert b"<html" not in logs.content
    detail = sup.get("/accounts/8613800000001/", headers=HTMX)
    assert b"<html" not in detail.content
    # A history-restore request (back button) gets the whole page.
    restore = sup.get(
        "/accounts/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in restore.content


def test_job_progress_fragment_stops_polling_when_done(
    people: Any, fleet: dict[str, WhatsAppAccount]
) -> None:
    job = BulkJob.objects.create(kind="recycle", created_by=people.supervisor, total=1)
    BulkJobItem.objects.create(job=job, whatsapp="8613800000001")
    sup = client_for(people.supervisor)
    running = sup.get(f"/accounts/jobs/{job.pk}/", headers=HTMX)
    assert running.status_code == 200 and b"<html" not in running.content
    assert f'hx-trigger="sse:job-{job.pk}, live-poll"'.encode() in running.content
    BulkJob.objects.filter(pk=job.pk).update(state="done")
    done = sup.get(f"/accounts/jobs/{job.pk}/", headers=HTMX)
    assert done.status_code == 286
    assert b"hx-trigger" not in done.content


def test_recycle_asks_first_listing_the_numbers(
    people: Any, fleet: dict[str, WhatsAppAccount]
) -> None:
    sup = client_for(people.supervisor)
    ids = [fleet["alice"].pk, fleet["bob"].pk]
    resp = sup.post("/accounts/bulk/recycle/", {"ids": ids})
    assert resp.status_code == 200
    assert b"8613800000001" in resp.content and b"8613800000002" in resp.content
    assert not BulkJob.objects.exists()
    resp = sup.post("/accounts/bulk/recycle/", {"ids": ids, "confirmed": "1"})
    job = BulkJob.objects.get()
    assert job.kind == "recycle" and job.total == 2
    from core.models import AuditEntry

    assert AuditEntry.objects.filter(action="accounts.recycle", target_id=str(job.pk)).exists()


def test_export_csv_streams_without_secrets(people: Any) -> None:
    make_account("8613800000009", with_keys=True, name="Keyed")
    sup = client_for(people.supervisor)
    resp = sup.post("/accounts/bulk/export/", {})
    assert resp.status_code == 200 and resp.streaming
    body = b"".join(cast(Any, resp).streaming_content).decode()
    assert "8613800000009" in body and "Keyed" in body
    assert "priv-" not in body and "pub-" not in body


def test_fleet_filters(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    WhatsAppAccount.objects.filter(pk=fleet["bob"].pk).update(status=2, country="CO", platform=2)
    sup = client_for(people.supervisor)
    for query, expected in (
        ("status=2", {"8613800000002"}),
        ("country=CO", {"8613800000002"}),
        ("platform=2", {"8613800000002"}),
        ("agent=alice01", {"8613800000001"}),
        ("q=86138000000", {"8613800000001", "8613800000002", "8613800000003"}),
        ("q=bob", {"8613800000002"}),
        ("status=bogus", {"8613800000001", "8613800000002", "8613800000003"}),
    ):
        body = sup.get(f"/accounts/?{query}", headers=HTMX).content.decode()
        got = {n for n in ("8613800000001", "8613800000002", "8613800000003") if n in body}
        assert got == expected, query


@pytest.mark.parametrize("sort", list(selectors.FLEET_SORTS))
def test_keyset_pagination_visits_every_row_once(people: Any, sort: str) -> None:
    base = timezone.now()
    for i in range(137):
        make_account(
            f"57300{i:07d}",
            name=f"name{i % 7}",  # many ties on name
            last_event_at=None if i % 5 == 0 else base - timedelta(minutes=i % 11),  # ties, NULLs
        )
    seen: list[str] = []
    cursor = None
    visible = WhatsAppAccount.objects.all()
    pages = 0
    while True:
        page = selectors.keyset_page(
            selectors.fleet_filter(visible, selectors.FleetFilters(sort=sort)),
            selectors.FLEET_SORTS[sort],
            cursor,
            size=10,
            id_desc=selectors.FLEET_ID_DESC.get(sort, False),
        )
        seen.extend(a.whatsapp for a in page.rows)
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == 137 and len(set(seen)) == 137
    assert pages == 14


def test_event_keyset_with_equal_times(people: Any) -> None:
    at = timezone.now()
    ids = {
        make_event("8613800000001", 10, 11, at - timedelta(seconds=i // 4)).pk for i in range(41)
    }
    seen = [e.pk for page in event_pages(size=6) for e in page.rows]
    assert len(seen) == len(set(seen)) == 41 and set(seen) == ids


def test_bad_cursor_is_first_page(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    resp = client_for(people.supervisor).get("/accounts/?cursor=%%%garbage")
    assert resp.status_code == 200 and b"8613800000001" in resp.content


def test_list_query_count_does_not_grow_with_rows(people: Any) -> None:
    for i in range(120):
        make_account(f"4479{i:08d}", agent="alice01" if i % 2 else "bob01")
    sup = client_for(people.supervisor)
    sup.get("/accounts/")  # warm the session
    for url in ("/accounts/", "/accounts/?status=1&sort=-name", "/accounts/?q=4479"):
        with CaptureQueriesContext(connection) as ctx:
            assert sup.get(url).status_code == 200
        assert len(ctx.captured_queries) <= 12, (url, [q["sql"] for q in ctx.captured_queries])


def test_logs_and_detail_label_every_detail_code(people: Any) -> None:
    make_account("8613800000001", agent="alice01")
    codes = [11, 12, 13, 21, 22, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43]
    at = timezone.now()
    for i, code in enumerate(codes):
        make_event("8613800000001", code // 10 * 10, code, at - timedelta(minutes=i))
    make_event("8613800000001", 1, 99, at - timedelta(hours=1))  # undocumented values kept
    sup = client_for(people.supervisor)
    body = sup.get("/accounts/logs/").content.decode()
    for label in (
        "PC QR code login",
        "Mobile abnormal offline",
        "System marked as permanently banned",
    ):
        assert label in body
    assert "Unknown (99)" in body
    detail = sup.get("/accounts/8613800000001/").content.decode()
    assert "Mobile deleted offline" in detail
    csv_body = b"".join(
        cast(Any, sup.get("/accounts/logs/export.csv?detail_status=42")).streaming_content
    ).decode()
    assert "Mobile banned" in csv_body and "PC banned" not in csv_body
    chart = sup.get("/accounts/logs/chart.json").json()
    assert sum(chart["online"]) >= 1
    timeline = client_for(people.agent).get("/accounts/8613800000001/timeline.json").json()
    assert len(timeline["points"]) == 16


def test_registration_history_scoped(people: Any) -> None:
    Registration.objects.create(
        phone="13812345678",
        area_code="+86",
        country_code="CN",
        verify_type=0,
        account_type=1,
        created_by=people.admin,
    )
    sup_body = client_for(people.supervisor).get("/accounts/register/").content.decode()
    assert "13812345678" in sup_body  # supervisors see everyone's registrations
    api = client_for(people.agent).get("/api/v1/registrations/").json()
    assert api["results"] == []
    api = client_for(people.supervisor).get("/api/v1/registrations/").json()
    assert api["results"][0]["phone"] == "13812345678"


def test_home_tiles_link_to_their_lists(people: Any, fleet: dict[str, WhatsAppAccount]) -> None:
    WhatsAppAccount.objects.filter(pk=fleet["bob"].pk).update(status=2)
    make_event("8613800000002", 40, 42)
    body = client_for(people.supervisor).get("/").content.decode()
    assert 'href="/accounts/?state=banned"' in body
    assert 'href="/accounts/?state=online"' in body
    assert "Mobile banned" in body
    agent_body = client_for(people.agent).get("/").content.decode()
    assert "8613800000002" not in agent_body
