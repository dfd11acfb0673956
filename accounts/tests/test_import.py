"""Import: every bad file is rejected whole with a clear message; a good file goes to the
simulator in chunks and lands encrypted in our database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.models import AccountKeys, BulkJob, ImportRow, WhatsAppAccount
from accounts.services import fleet
from accounts.tests.helpers import KEYS, account_row, import_json, make_account
from tests.fixtures import client_for
from upstream.breaker import reset as breaker_reset

pytestmark = pytest.mark.django_db


def upload(client: Any, f: SimpleUploadedFile) -> Any:
    return client.post("/accounts/import/", {"file": f})


def assert_nothing_staged() -> None:
    assert not ImportRow.objects.exists()
    assert not BulkJob.objects.exists()
    assert not WhatsAppAccount.objects.exists()


def test_wrong_columns_csv(people: Any) -> None:
    sup = client_for(people.supervisor)
    csv_text = "phone,publicKey,privateKey,colour\n8613800138000,a,b,red\n"
    resp = upload(sup, SimpleUploadedFile("a.csv", csv_text.encode(), content_type="text/csv"))
    assert resp.status_code == 400
    body = resp.content.decode()
    assert "Wrong columns" in body and "unknown columns: phone, colour" in body
    assert "missing columns: msgPublicKey, msgPrivateKey, accountId" in body
    assert_nothing_staged()


def test_wrong_keys_json(people: Any) -> None:
    resp = upload(
        client_for(people.supervisor), import_json([account_row("8613800138000", colour="red")])
    )
    assert resp.status_code == 400
    assert "Unknown fields: colour" in resp.content.decode()
    assert_nothing_staged()


def test_bad_numbers_named_by_line(people: Any) -> None:
    csv_lines = [",".join(["whatsApp", *KEYS])]
    for number in ("8613800138000", "12ab", "999000111222", "", "8613800138001"):
        csv_lines.append(",".join([number, *KEYS.values()]))
    resp = upload(
        client_for(people.supervisor),
        SimpleUploadedFile(
            "a.csv", ("\n".join(csv_lines) + "\n").encode(), content_type="text/csv"
        ),
    )
    assert resp.status_code == 400
    body = resp.content.decode()
    assert "<td>3</td>" in body and "“12ab” is not a phone number" in body
    assert "<td>4</td>" in body and "“999000111222” is not a phone number" in body
    assert "<td>5</td>" in body and "The number (whatsApp) is missing" in body
    assert "nothing was imported" in body
    assert_nothing_staged()


def test_missing_key_and_bad_type(people: Any) -> None:
    rows = [
        account_row("8613800138000", privateKey=""),
        account_row("8613800138001", whatsappType=5),
    ]
    body = upload(client_for(people.supervisor), import_json(rows)).content.decode()
    assert "Empty privateKey" in body and "The whatsappType must be 1" in body
    assert_nothing_staged()


def test_twenty_megabytes(people: Any) -> None:
    big = b'{"whatsAppList": [' + b" " * (20 * 1024 * 1024) + b"]}"
    resp = upload(client_for(people.supervisor), SimpleUploadedFile("big.json", big))
    assert resp.status_code == 400
    assert "The file is 20.0 MiB; the limit is 10 MiB" in resp.content.decode()
    assert_nothing_staged()


def test_not_utf8(people: Any) -> None:
    text = "whatsApp,publicKey,privateKey,msgPublicKey,msgPrivateKey,accountId,name\n"
    text += "8613800138000,a,b,c,d,e,ok\n8613800138001,a,b,c,d,e,"
    data = text.encode() + "José".encode("latin-1") + b"\n"
    resp = upload(client_for(people.supervisor), SimpleUploadedFile("a.csv", data))
    assert resp.status_code == 400
    assert "not UTF-8 text (first bad byte on line 3)" in resp.content.decode()
    assert_nothing_staged()


def test_not_json(people: Any) -> None:
    resp = upload(
        client_for(people.supervisor), SimpleUploadedFile("a.json", b'{"whatsAppList": [1,')
    )
    assert resp.status_code == 400
    assert "not valid JSON" in resp.content.decode()


def test_duplicates_in_file_and_existing(people: Any) -> None:
    make_account("8613800138005")
    sup = client_for(people.supervisor)
    rows = [
        account_row("8613800138000"),
        account_row("8613800138001"),
        account_row("+86 13800138000"),
    ]
    body = upload(sup, import_json(rows)).content.decode()
    assert "Duplicate of line 1 (8613800138000)" in body
    assert not ImportRow.objects.exists()
    # Existing accounts are flagged and left out; the rest can be imported.
    rows = [account_row("8613800138005"), account_row("8613800138006")]
    resp = upload(sup, import_json(rows))
    assert resp.status_code == 302
    job = BulkJob.objects.get(kind="import")
    preview = sup.get(resp["Location"]).content.decode()
    assert "already exists and is left out" in preview and "8613800138005" in preview
    assert job.total == 1 and list(job.import_rows.values_list("whatsapp", flat=True)) == [
        "8613800138006"
    ]
    assert "SECRET" not in preview


def test_the_first_pass_reports_every_duplicate_row_by_row(people: Any) -> None:
    """A repeat of a number whose first row has its own problem, and numbers already in
    the fleet, are reported with the first pass's problems, each by its line."""
    make_account("8613800138015")
    sup = client_for(people.supervisor)
    rows = [
        account_row("8613800138010", publicKey=""),  # line 1: its own problem
        account_row("8613800138011"),
        account_row("+86 138 0013 8010"),  # line 3: the number of line 1
        account_row("8613800138015"),  # line 4: already in the fleet
        account_row("8613800138015", privateKey=""),  # line 5: both, and a problem
    ]
    resp = upload(sup, import_json(rows))
    body = resp.content.decode()
    assert resp.status_code == 400 and not ImportRow.objects.exists()
    problems = body.split('aria-labelledby="errs"')[1].split("</article>")[0]
    assert "<td>3</td><td>Duplicate of line 1 (8613800138010).</td>" in problems
    assert "<td>5</td><td>Duplicate of line 4 (8613800138015).</td>" in problems
    known = body.split('id="known-lines"')[1].split("</table>")[0]
    assert "<td>4</td><td>8613800138015</td>" in known
    assert "1 number is already in the fleet" in body
    api = sup.post(
        "/api/v1/imports/", json.dumps({"whatsAppList": rows}), content_type="application/json"
    )
    assert api.status_code == 400
    assert {"line": 3, "message": "Duplicate of line 1 (8613800138010)."} in api.json()["errors"]
    assert api.json()["known"] == [{"line": 4, "whatsapp": "8613800138015"}]


def test_the_preview_lists_the_left_out_lines(people: Any) -> None:
    make_account("8613800138025")
    sup = client_for(people.supervisor)
    rows = [account_row("8613800138026"), account_row("8613800138025")]
    resp = upload(sup, import_json(rows))
    assert resp.status_code == 302
    preview = sup.get(resp["Location"]).content.decode()
    left_out = preview.split('id="left-out-lines"')[1].split("</table>")[0]
    assert "<td>2</td><td>8613800138025</td>" in left_out


def test_good_import_end_to_end(people: Any, simulator: Any) -> None:
    sup = client_for(people.supervisor)
    numbers = [f"57312{i:07d}" for i in range(120)]  # > 2 chunks
    resp = upload(sup, import_json([account_row(n) for n in numbers]))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    job = BulkJob.objects.get(kind="import")
    assert job.state == "preview" and job.total == 120
    # Staged keys are encrypted too.
    with connection.cursor() as cur:
        cur.execute("SELECT private_key FROM accounts_importrow LIMIT 1")
        raw = cur.fetchone()[0]
    assert raw and KEYS["privateKey"] not in raw
    resp = sup.post(f"/accounts/import/{job.pk}/", {"action": "import"})
    assert resp["Location"] == f"/accounts/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.state == "queued" and job.items.count() == 120
    fleet.bulk_job_run(job_id=job.pk)  # what the SLOW-queue task runs
    job.refresh_from_db()
    assert job.state == "done" and job.ok_count == 120 and job.failed_count == 0
    # Three batchInsert calls (chunks of 50) reached the simulator; the accounts are there.
    inserts = [c for c in simulator.calls() if c["path"].endswith("/whatsapp/batchInsert")]
    assert len(inserts) == 3
    assert set(numbers) <= set(simulator.state.accounts)
    assert WhatsAppAccount.objects.filter(whatsapp__in=numbers).count() == 120
    assert not ImportRow.objects.exists()  # staged keys gone once imported
    keys = AccountKeys.objects.get(account__whatsapp=numbers[0])
    assert keys.private_key.reveal() == KEYS["privateKey"]
    with connection.cursor() as cur:
        cur.execute("SELECT private_key, public_key, vendor_account_id FROM accounts_accountkeys")
        for row in cur.fetchall():
            for raw in row:
                assert "SECRET" not in raw
    detail = sup.get(f"/accounts/{numbers[0]}/").content.decode()
    assert "SECRET" not in detail
    job_page = sup.get(f"/accounts/jobs/{job.pk}/").content.decode()
    assert "120 of 120 processed" in job_page


def test_import_vendor_failure_marks_chunk_failed_and_retry(people: Any, simulator: Any) -> None:
    sup = client_for(people.supervisor)
    upload(sup, import_json([account_row("8613800138000"), account_row("8613800138001")]))
    job = BulkJob.objects.get(kind="import")
    sup.post(f"/accounts/import/{job.pk}/", {"action": "import"})
    simulator.set_faults(1.0, ["500"])
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "done" and job.failed_count == 2
    assert not WhatsAppAccount.objects.exists()  # nothing half-imported
    assert ImportRow.objects.count() == 2  # kept for the retry
    body = sup.get(f"/accounts/jobs/{job.pk}/").content.decode()
    # An HTTP 500 is an answer with an error, not "no answer in time".
    assert "answered with an error (HTTP 500)" in body and "did not answer" not in body
    assert "Retry the 2 failed accounts" in body
    simulator.set_faults(0, [])
    breaker_reset()  # the retries opened the breaker; its cooldown has passed
    sup.post(f"/accounts/jobs/{job.pk}/retry/")
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.ok_count == 2 and job.failed_count == 0
    assert WhatsAppAccount.objects.count() == 2


def test_cancel_preview_deletes_staged_keys(people: Any) -> None:
    sup = client_for(people.supervisor)
    upload(sup, import_json([account_row("8613800138000")]))
    job = BulkJob.objects.get(kind="import")
    sup.post(f"/accounts/import/{job.pk}/", {"action": "cancel"})
    assert not ImportRow.objects.exists()
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_json_bare_list_and_alias_fields(people: Any) -> None:
    rows = [{**account_row("8613800138000"), "whatsApp": None, "whatsId": "8613800138000"}]
    data = json.dumps(rows).encode()
    resp = upload(client_for(people.supervisor), SimpleUploadedFile("x.json", data))
    assert resp.status_code == 302
