"""Secrets sealed: fill every secret with a known marker, run the flows that carry
secrets against the simulator, then search the database dump, the logs, every rendered page
and every export for the markers. Expected: 0 hits.

Secrets: every `EncryptedTextField` (found by walking the models), account keys in an import
file, a proxy password typed into the QR login form and the port-online form, an API token
key, UPSTREAM_API_SECRET and WEBHOOK_SECRETS.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountKeys, BulkJob, WhatsAppAccount
from accounts.services import fleet
from accounts.services.imports import KEY_FIELDS
from accounts.services.status import account_status_apply
from core.crypto import EncryptedTextField
from core.logging import ContextFilter, JsonFormatter, RedactingFilter
from notify.services import alerts, deliveries
from notify.tests.sink import running_sink
from qrlogin.models import QrSession
from tests.fixtures import People
from tests.test_access_matrix import (
    ALICE_NUMBER,
    MATRIX,
    World,
    admin_args,
    all_routes,
    build_world,
    clients,
    forget_own_cache_keys,
    make_admin_staff,
)
from webhooks.models import WebhookEvent
from webhooks.tests.helpers import post as post_webhook

pytestmark = pytest.mark.django_db(transaction=True)

TAG = "7f3a"
UPSTREAM_SECRET = f"MARKER-upstream_api_secret-{TAG}"
WEBHOOK_SECRET = f"MARKER-webhook_secret-{TAG}"
PROXY_PASSWORD = f"MARKER-proxy_password-{TAG}"
PORT_PROXY_PASSWORD = f"MARKER-port_proxy_password-{TAG}"
IMPORTED = "8613600000007"
CHANNEL_TOKEN = f"MARKER-channel_url_token-{TAG}"


def marker(what: str) -> str:
    return f"MARKER-{what}-{TAG}"


def encrypted_fields() -> list[tuple[type[Any], str]]:
    return [
        (model, f.name)
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if isinstance(f, EncryptedTextField)
    ]


class Collect(logging.Handler):
    """A root handler with the project's own filters and formatter: what the logs say."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(ContextFilter())
        self.addFilter(RedactingFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def root_handler() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def hits(text: str, markers: list[str]) -> list[str]:
    return [m for m in markers if m in text]


def fill_every_secret_field(world: World) -> list[str]:
    """Every EncryptedTextField of every row gets its own marker; returns the markers."""
    out = []
    filled: dict[str, int] = {}
    for model, name in encrypted_fields():
        for pk in model._default_manager.values_list("pk", flat=True):
            value = marker(f"{model._meta.model_name}.{name}.{pk}")
            if model is QrSession:  # a proxy is ip:port:user:pass; the password is secret
                value = f"10.9.8.7:1080:proxyuser:{value}"
            obj = model._default_manager.get(pk=pk)
            setattr(obj, name, value)
            obj.save(update_fields=[name])
            out.append(value.rsplit(":", 1)[-1])
            filled[model._meta.label] = filled.get(model._meta.label, 0) + 1
    # Each model holding secrets had at least one row to fill.
    assert {m._meta.label for m, _ in encrypted_fields()} <= set(filled), filled
    return out


def run_secret_flows(world: World, simulator: Any) -> dict[str, Any]:
    """Real traffic that carries secrets: import with keys, bulk online (reveals the keys
    to send them), QR login with a proxy, port online with a proxy, an API token, and a
    signed webhook whose body carries keys."""
    people = world.people
    sup = clients(people)["supervisor"]
    alice = clients(people)["agent"]
    admin = clients(people)["admin"]
    out: dict[str, Any] = {}

    # 1. Import a file with keys, confirm, run it (batchInsert to the simulator).
    row = {"whatsApp": IMPORTED, "name": "Imported", "whatsappType": 1}
    row.update({k: marker(f"import.{k}") for k in KEY_FIELDS})
    upload = SimpleUploadedFile(
        "fleet.json", json.dumps({"whatsAppList": [row]}).encode(), "application/json"
    )
    r = sup.post(reverse("accounts:import"), {"file": upload})
    assert r.status_code == 302, body_of(r)[:2000]
    job_id = int(r["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert sup.get(r["Location"]).status_code == 200  # the preview
    r = sup.post(reverse("accounts:import_preview", kwargs={"job_id": job_id}))
    assert r.status_code == 302
    fleet.bulk_job_run(job_id=job_id)
    job = BulkJob.objects.get(pk=job_id)
    out["import_job"] = job
    assert AccountKeys.objects.filter(account__whatsapp=IMPORTED).exists(), job.items.values()

    # 2. Bulk online of alice's account and the imported one: the keys are revealed and sent.
    ids = list(
        WhatsAppAccount.objects.filter(whatsapp__in=[ALICE_NUMBER, IMPORTED]).values_list(
            "id", flat=True
        )
    )
    r = sup.post(reverse("accounts:bulk_online"), {"ids": ids})
    assert r.status_code == 302, r.status_code
    online_job = BulkJob.objects.filter(kind=BulkJob.Kind.ONLINE).latest("id")
    fleet.bulk_job_run(job_id=online_job.pk)
    out["online_job"] = online_job

    # 3. QR login with a proxy (alice), then its pages, which call the vendor with it.
    r = alice.post(
        reverse("qrlogin:start"),
        {
            "pc_type": 1,
            "target": "10085",
            "mode": "qr",
            "is_easy": "n",
            "proxy": f"10.1.2.3:1080:puser:{PROXY_PASSWORD}",
        },
    )
    assert r.status_code == 302, body_of(r)[:3000]
    session = QrSession.objects.filter(created_by=people.agent).latest("id")
    assert session.proxy and PROXY_PASSWORD in session.proxy.reveal()
    out["session"] = session
    for name in ("qrlogin:session", "qrlogin:session_code", "qrlogin:session_status"):
        alice.get(reverse(name, kwargs={"pk": session.pk}))
    # A bad proxy (the error message must not repeat it).
    r = alice.post(
        reverse("qrlogin:start"),
        {"pc_type": 1, "target": "10085", "mode": "qr", "proxy": f"nope:{PROXY_PASSWORD}"},
    )
    out["bad_proxy_page"] = body_of(r)

    # 4. A port brought online through a proxy (the vendor may refuse: no matter).
    r = sup.post(
        reverse("qrlogin:port_operate", kwargs={"port_id": session.port_id, "operation": "online"}),
        {"proxy": f"10.1.2.4:1080:puser:{PORT_PROXY_PASSWORD}"},
        follow=True,
    )
    out["port_page"] = body_of(r)

    # 5. An API token: created (shown once), then used.
    r = alice.post(reverse("token-create"), {"name": "ci"})
    assert r.status_code == 200
    key = r.context["new_key"]
    out["token_key"] = key
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(reverse("api-me")).status_code == 200
    assert api.get(reverse("api-accounts")).status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Token {key}x").get(reverse("api-me")).status_code == 401

    # 6. A signed webhook carrying keys and an ipConfig: stored (rejected) for the inbox.
    keyed = {
        "whatsAppList": [
            {
                "whatsApp": "8613500000008",
                **{k: marker(f"webhook.{k}") for k in KEY_FIELDS},
                "ipConfig": f"10.1.2.5:1080:u:{marker('webhook.ipConfig')}",
            }
        ]
    }
    r = post_webhook(Client(), "account_status", {"bogus": keyed})
    out["webhook_answer"] = body_of(r)
    r = post_webhook(Client(), "online_status", keyed)
    out["webhook_answer"] += body_of(r)
    out["events"] = list(WebhookEvent.objects.order_by("id"))
    assert admin.get(reverse("webhooks:inbox")).status_code == 200

    # 7. An event subscription (its whsec_ secret is shown once) and an alert
    #    channel whose Apprise URL carries a token; a ban delivered to both, on a local sink.
    with running_sink() as sink, override_settings(OUTBOUND_ALLOWED_NETS=["127.0.0.1/32"]):
        r = admin.post(
            reverse("api-event-subscriptions"),
            data=json.dumps({"url": sink.url(), "events": ["account.banned"]}),
            content_type="application/json",
        )
        assert r.status_code == 201
        out["subscription_secret"] = r.json()["secret"]
        r = sup.post(
            reverse("api-alert-channels"),
            data=json.dumps(
                {
                    "name": "ops-sealed",  # the world has a channel named ops
                    "url": f"json://127.0.0.1:{sink.port}/{CHANNEL_TOKEN}",
                    "rules": ["account_banned"],
                }
            ),
            content_type="application/json",
        )
        assert r.status_code == 201, r.content
        channel_id = r.json()["id"]
        r = sup.post(reverse("notify:channel_test", kwargs={"pk": channel_id}), follow=True)
        out["channel_test_page"] = body_of(r)
        account_status_apply(
            whatsapp=ALICE_NUMBER, status=2, online_status=4, reason="", received_at=timezone.now()
        )
        deliveries.deliveries_drain(budget_seconds=10)
        alerts.alerts_dispatch(now=timezone.now() + timedelta(seconds=60))
        out["sink"] = sink.wait_for(3)
    return out


def render_everything(world: World, extra_urls: list[str]) -> dict[str, str]:
    """GET every page of the matrix as admin, supervisor and agent, the Django admin's pages
    as the admin, the exports, and some error pages; returns url -> body."""
    people = world.people
    cs = clients(people)
    pages: dict[str, str] = {}
    seen: set[str] = set()
    for route in all_routes():
        if not route.name or route.name in seen:
            continue
        seen.add(route.name)
        if route.name.startswith("admin:"):
            kwargs = admin_args(route, world)
            if kwargs is None:
                continue
            url = reverse(route.name, kwargs=kwargs)
            pages[f"admin {url}"] = body_of(cs["admin"].get(url))
            continue
        door = MATRIX[route.name]
        url = reverse(route.name, kwargs=door.args(world))
        for role in ("admin", "supervisor", "agent"):
            if door.get.get(role) == 200 and route.name not in ("logout",):
                pages[f"{role} {url}"] = body_of(cs[role].get(url))
    # The Django admin's change page of every row of every model holding secrets, and of
    # the accounts and webhook events (which sit next to them).
    from django.contrib import admin as django_admin

    for model in django_admin.site._registry:
        for pk in model._default_manager.values_list("pk", flat=True)[:20]:
            info = (model._meta.app_label, model._meta.model_name)
            for view in ("change", "history", "delete"):
                url = reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[pk])
                pages[f"admin {url}"] = body_of(cs["admin"].get(url))
    # Every webhook inbox detail (their bodies carry keys).
    for event in WebhookEvent.objects.all():
        url = reverse("webhooks:detail", kwargs={"event_id": event.pk})
        pages[f"admin {url}"] = body_of(cs["admin"].get(url))
    # Exports: the fleet CSV and the status log CSV, for each role that has them.
    for role in ("admin", "supervisor", "agent"):
        r = cs[role].post(reverse("accounts:bulk_export"), {})
        pages[f"{role} fleet.csv"] = body_of(r)
    for role in ("admin", "supervisor"):
        pages[f"{role} logs.csv"] = body_of(cs[role].get(reverse("accounts:logs_export")))
    # API details of every account, as JSON.
    for number in WhatsAppAccount.objects.values_list("whatsapp", flat=True):
        url = reverse("api-account", kwargs={"whatsapp": number})
        pages[f"admin {url}"] = body_of(cs["admin"].get(url))
        pages[f"admin detail {number}"] = body_of(
            cs["admin"].get(reverse("accounts:detail", kwargs={"whatsapp": number}))
        )
    # Error pages.
    for url in ["/no-such-page/", "/accounts/0000/", "/audit/", *extra_urls]:
        for role in ("admin", "agent", "anonymous"):
            pages[f"{role} {url}"] = body_of(cs[role].get(url))
    return pages


def test_no_secret_is_ever_shown_logged_or_dumped(
    people: People,
    simulator: Any,
    settings: Any,
    caplog: Any,
    root_handler: Collect,
    artifacts: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    forget_own_cache_keys()
    settings.UPSTREAM_API_SECRET = UPSTREAM_SECRET
    settings.WEBHOOK_SECRETS = [WEBHOOK_SECRET, f"MARKER-webhook_secret_old-{TAG}"]
    settings.METRICS_TOKEN = ""
    make_admin_staff(people)
    world = build_world(people, simulator)
    field_markers = fill_every_secret_field(world)
    # A control: a value that is not secret, planted the same way, must be found.
    control = f"CONTROL-not-secret-{TAG}"
    WhatsAppAccount.objects.filter(whatsapp=ALICE_NUMBER).update(name=control)
    flows = run_secret_flows(world, simulator)

    markers = [
        *field_markers,
        *(marker(f"import.{k}") for k in KEY_FIELDS),
        *(marker(f"webhook.{k}") for k in KEY_FIELDS),
        marker("webhook.ipConfig"),
        PROXY_PASSWORD,
        PORT_PROXY_PASSWORD,
        UPSTREAM_SECRET,
        *settings.WEBHOOK_SECRETS,
        flows["token_key"],
        flows["subscription_secret"],
        flows["subscription_secret"].removeprefix("whsec_"),
        CHANNEL_TOKEN,
    ]
    # The flows really carried the secrets to the vendor (the simulator got them).
    calls = json.dumps(simulator.calls(), default=str)
    assert simulator.calls(), "no vendor traffic"

    problems: list[str] = []

    # 1. Every rendered page and export.
    pages = render_everything(world, extra_urls=[])
    pages["qr start with a bad proxy"] = flows["bad_proxy_page"]
    pages["ports page after online with proxy"] = flows["port_page"]
    pages["webhook answers"] = flows["webhook_answer"]
    pages["alert channel test"] = flows["channel_test_page"]
    for where, text in pages.items():
        problems += [f"page {where}: {m}" for m in hits(text, markers)]

    # 2. The logs: every record as emitted (caplog), and the project's own formatting.
    raw = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {getattr(r, 'args', '')}" for r in caplog.records
    )
    problems += [f"log record: {m}" for m in hits(raw, markers)]
    problems += [f"log line: {m}" for m in hits("\n".join(root_handler.lines), markers)]

    # 3. A real dump of the database (the data is committed: transactional test).
    name = connection.settings_dict["NAME"]
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", name],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    assert "accounts_accountkeys" in dump and IMPORTED in dump
    problems += [f"pg_dump: {m}" for m in hits(dump, markers)]

    (artifacts / "secrets-sealed.txt").write_text(
        f"markers: {len(markers)}\npages and exports searched: {len(pages)}\n"
        f"log records: {len(caplog.records)}\ndump bytes: {len(dump)}\n"
        f"hits: {len(problems)}\n"
    )
    assert not problems, "\n".join(problems[:200])
    # The search does find what it looks for: the control shows in pages and the dump.
    assert any(control in text for text in pages.values())
    assert control in dump
    # Both jobs read again from the database: what they did, not what they were when queued.
    imported = BulkJob.objects.get(pk=flows["import_job"].pk)
    assert imported.state == BulkJob.State.DONE and imported.ok_count == 1, imported.__dict__
    online = BulkJob.objects.get(pk=flows["online_job"].pk)
    assert online.ok_count == 2, online.__dict__  # both sent, keys revealed to the vendor
    assert any("batch_online outcome=ok" in ln for ln in root_handler.lines)
    assert any(e.state == WebhookEvent.State.REJECTED for e in flows["events"])
    # The flows did carry keys to the vendor (its call log masks them).
    assert "privateKey" in calls and "ipConfig" in calls
    # The secrets were really used: the sink got the signed event (verified with the
    # secret), the channel's test and its ban alert (through the tokened URL).
    from standardwebhooks.webhooks import Webhook

    paths = [r.path for r in flows["sink"]]
    assert paths.count(f"/{CHANNEL_TOKEN}") == 2, paths
    signed = [r for r in flows["sink"] if "webhook-signature" in {k.lower() for k in r.headers}]
    assert len(signed) == 1
    headers = {k.lower(): v for k, v in signed[0].headers.items()}
    Webhook(flows["subscription_secret"]).verify(signed[0].body, headers)
