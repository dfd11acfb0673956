"""Keys reach accounts Switchboard already knows, and bulk online never
sends a row without keys (the strict simulator refuses one)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AccountKeys, BulkJob, WhatsAppAccount
from accounts.services import fleet
from accounts.services.status import accounts_ensure
from accounts.tests.helpers import account_row, import_json, make_account
from core.models import AuditEntry
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

NEW, NO_KEYS, OTHER_KEYS, SAME_KEYS = "573120000001", "573120000002", "573120000003", "573120000004"


def own_keys(number: str) -> dict[str, str]:
    """The keys make_account(with_keys=True) stores for `number`."""
    return {
        "publicKey": f"pub-{number}",
        "privateKey": f"priv-{number}",
        "msgPublicKey": f"mpub-{number}",
        "msgPrivateKey": f"mpriv-{number}",
        "accountId": f"acct-{number}",
    }


def known_fleet() -> None:
    accounts_ensure(numbers=[NO_KEYS])  # as reconcile, registration and webhooks make them
    make_account(OTHER_KEYS, with_keys=True)
    make_account(SAME_KEYS, with_keys=True)


def file_rows() -> list[dict[str, Any]]:
    return [
        account_row(NEW),
        account_row(NO_KEYS),
        account_row(OTHER_KEYS),
        account_row(SAME_KEYS, **own_keys(SAME_KEYS)),
    ]


def test_import_with_replace_keys_sets_and_replaces_keys_of_known_accounts(
    people: Any, simulator: Any
) -> None:
    known_fleet()
    sup = client_for(people.supervisor)
    assert 'name="replace_keys"' in sup.get("/accounts/import/?replace_keys=1").content.decode()
    resp = sup.post("/accounts/import/", {"file": import_json(file_rows()), "replace_keys": "on"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    preview = sup.get(resp["Location"]).content.decode()
    for cell, n in (("sum-new", 1), ("sum-get-keys", 1), ("sum-new-keys", 1), ("sum-unchanged", 1)):
        assert f'id="{cell}">{n}' in preview, cell
    assert "SECRET" not in preview
    job = BulkJob.objects.get(kind="import")
    assert job.total == 3 and job.params["existing"] == [SAME_KEYS]
    sup.post(resp["Location"], {"action": "import"})
    fleet.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.ok_count, job.failed_count) == (3, 0)

    (sent,) = simulator.calls("/whatsapp/batchInsert")
    assert sorted(r["whatsApp"] for r in sent["body"]["whatsAppList"]) == [NEW, NO_KEYS, OTHER_KEYS]
    for number in (NEW, NO_KEYS, OTHER_KEYS):
        assert AccountKeys.objects.get(account__whatsapp=number).private_key.reveal() == (
            "priv-KEY-SECRET-0001"
        )
    assert (
        AccountKeys.objects.get(account__whatsapp=SAME_KEYS).private_key.reveal()
        == f"priv-{SAME_KEYS}"
    )
    # Replacing keys is audited, never with the keys themselves.
    entry = AuditEntry.objects.get(action="accounts.keys.replace")
    assert entry.before == {"with_keys": [OTHER_KEYS], "without_keys": [NO_KEYS]}
    assert entry.after == {"keys_replaced": 1, "keys_set": 1}
    assert "SECRET" not in str(list(AuditEntry.objects.values()))
    # And the accounts that had no keys can now be brought online.
    online = fleet.bulk_job_create(
        actor=people.supervisor,
        kind="online",
        accounts=list(WhatsAppAccount.objects.filter(whatsapp=NO_KEYS)),
    )
    fleet.bulk_job_run(job_id=online.pk)
    online.refresh_from_db()
    assert online.ok_count == 1, list(online.items.values("error"))


def test_import_without_replace_keys_leaves_known_accounts_alone(people: Any) -> None:
    known_fleet()
    sup = client_for(people.supervisor)
    resp = sup.post("/accounts/import/", {"file": import_json(file_rows())})
    assert resp.status_code == 302
    preview = sup.get(resp["Location"]).content.decode()
    assert 'id="sum-get-keys">1' in preview and "keys of known accounts are not set" in preview
    job = BulkJob.objects.get(kind="import")
    assert list(job.import_rows.values_list("whatsapp", flat=True)) == [NEW]
    # Only known accounts, none needing keys: said plainly, nothing staged.
    resp = sup.post(
        "/accounts/import/",
        {
            "file": import_json([account_row(SAME_KEYS, **own_keys(SAME_KEYS))]),
            "replace_keys": "on",
        },
    )
    assert resp.status_code == 400 and "nothing to import" in resp.content.decode()


def test_bulk_online_lists_accounts_without_keys_and_banned_before_sending(
    people: Any, simulator: Any
) -> None:
    ready = make_account("573120000011", with_keys=True)
    accounts_ensure(numbers=["573120000012"])
    bare = WhatsAppAccount.objects.get(whatsapp="573120000012")
    half = make_account("573120000013")
    AccountKeys.objects.create(account=half, private_key="only-this")  # incomplete keys
    banned = make_account("573120000014", with_keys=True, status=2)
    simulator.state.set_account(ready.whatsapp)
    ids = [a.pk for a in (ready, bare, half, banned)]
    sup = client_for(people.supervisor)
    page = sup.post("/accounts/bulk/online/", {"ids": ids}).content.decode()
    keyless = page.split('id="without-keys"')[1].split("</section>")[0]
    assert "573120000012" in keyless and "573120000013" in keyless
    assert "573120000014" in page.split('id="banned"')[1].split("</section>")[0]
    assert "/accounts/import/?replace_keys=1" in keyless
    assert not BulkJob.objects.exists() and simulator.calls("/whatsapp/batchOnline") == []
    # Going on brings only the account with keys online.
    resp = sup.post("/accounts/bulk/online/", {"ids": [ready.pk], "confirmed": "1"})
    job = BulkJob.objects.get()
    assert resp.status_code == 302 and job.total == 1
    fleet.bulk_job_run(job_id=job.pk)
    (call,) = simulator.calls("/whatsapp/batchOnline")
    assert [r["whatsApp"] for r in call["body"]["whatsAppList"]] == [ready.whatsapp]


def test_a_job_never_sends_a_row_without_keys(people: Any, simulator: Any) -> None:
    """The strict simulator refuses a batchOnline row without keys; the product never sends
    one, even when a job is made for such accounts (e.g. through the API)."""
    ready = make_account("573120000021", with_keys=True)
    accounts_ensure(numbers=["573120000022"])
    half = make_account("573120000023")
    AccountKeys.objects.create(account=half, private_key="p", public_key="q")
    job = fleet.bulk_job_create(
        actor=people.supervisor,
        kind="online",
        accounts=list(WhatsAppAccount.objects.filter(whatsapp__startswith="5731200000")),
    )
    fleet.bulk_job_run(job_id=job.pk)
    items = {i.whatsapp: i for i in job.items.all()}
    assert items[ready.whatsapp].state == "ok"
    for number in ("573120000022", "573120000023"):
        assert items[number].state == "failed" and "No keys" in items[number].error
    (call,) = simulator.calls("/whatsapp/batchOnline")
    rows = call["body"]["whatsAppList"]
    assert [r["whatsApp"] for r in rows] == [ready.whatsapp]
