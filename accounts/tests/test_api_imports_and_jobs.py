"""Imports and bulk jobs over the API, through the pages' services."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from accounts.models import AccountKeys, BulkJob
from accounts.services import fleet
from accounts.services.status import accounts_ensure
from accounts.tests.helpers import account_row, make_account
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def test_import_api_sets_keys_of_known_accounts(people: Any, simulator: Any) -> None:
    accounts_ensure(numbers=["573120009001"])  # known, without keys
    api = client_for(people.supervisor)
    body = {
        "whatsAppList": [account_row("573120009001"), account_row("573120009002")],
        "replace_keys": True,
    }
    resp = api.post("/api/v1/imports/", body, content_type="application/json")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["id"]
    fleet.bulk_job_run(job_id=job_id)  # what the queued task does
    got = api.get(f"/api/v1/imports/{job_id}/").json()
    assert got["state"] == "done" and (got["total"], got["done"], got["failed"]) == (2, 2, 0)
    assert api.get(f"/api/v1/jobs/{job_id}/").status_code == 404  # an import is no bulk job
    assert got["summary"] == {
        "new": 1,
        "get_keys": 1,
        "new_keys": 0,
        "unchanged": 0,
        "replace_keys": True,
    }
    assert {i["whatsapp"] for i in got["items"]} == {"573120009001", "573120009002"}
    assert AccountKeys.objects.get(account__whatsapp="573120009001").private_key
    assert "SECRET" not in resp.content.decode() + str(got)


def test_import_api_bad_rows_are_400_per_row(people: Any) -> None:
    api = client_for(people.supervisor)
    body = {"whatsAppList": [account_row("573120009011"), account_row("12ab", privateKey="")]}
    resp = api.post("/api/v1/imports/", body, content_type="application/json")
    assert resp.status_code == 400
    (err,) = resp.json()["errors"]
    assert err["line"] == 2 and "privateKey" in err["message"]
    assert not BulkJob.objects.exists()
    shape = api.post("/api/v1/imports/", {"x": 1}, content_type="application/json")
    assert shape.status_code == 400 and "whatsAppList" in shape.json()["detail"]
    assert (
        client_for(people.agent)
        .post("/api/v1/imports/", body, content_type="application/json")
        .status_code
        == 403
    )


def test_jobs_api_online_lists_accounts_without_keys_then_runs(people: Any, simulator: Any) -> None:
    ready = make_account("573120009021", with_keys=True)
    make_account("573120009022")  # no keys
    api = client_for(people.supervisor)
    resp = api.post(
        "/api/v1/jobs/",
        {"action": "online", "whatsapps": ["573120009021", "573120009022"]},
        content_type="application/json",
    )
    assert resp.status_code == 409
    assert resp.json()["without_keys"] == ["573120009022"] and resp.json()["banned"] == []
    assert not BulkJob.objects.exists() and simulator.calls("/whatsapp/batchOnline") == []
    resp = api.post(
        "/api/v1/jobs/",
        {"action": "online", "whatsapps": [ready.whatsapp], "override": True},
        content_type="application/json",
    )
    assert resp.status_code == 202
    job_id = resp.json()["id"]
    fleet.bulk_job_run(job_id=job_id)
    got = api.get(f"/api/v1/jobs/{job_id}/").json()
    assert got["state"] == "done" and got["done"] == 1
    assert got["items"] == [{"whatsapp": ready.whatsapp, "state": "ok", "reason": ""}]
    assert api.get(f"/api/v1/imports/{job_id}/").status_code == 404  # nor a job an import
    unknown = api.post(
        "/api/v1/jobs/", {"action": "recycle", "whatsapps": ["1"]}, content_type="application/json"
    )
    assert unknown.status_code == 400
    bad = api.post(
        "/api/v1/jobs/", {"action": "dance", "whatsapps": []}, content_type="application/json"
    )
    assert bad.status_code == 400 and "action" in bad.json()
    assert api.get("/api/v1/jobs/999999/").status_code == 404


def test_openapi_documents_the_error_answers(people: Any) -> None:
    schema = yaml.safe_load(client_for(people.admin).get("/api/v1/schema/").content)
    paths = schema["paths"]
    assert set(paths["/api/v1/imports/"]["post"]["responses"]) >= {"202", "400", "403", "429"}
    assert set(paths["/api/v1/jobs/"]["post"]["responses"]) >= {"202", "400", "403", "409", "429"}
    assert "404" in paths["/api/v1/jobs/{id}/"]["get"]["responses"]
