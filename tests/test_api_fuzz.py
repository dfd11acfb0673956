"""schemathesis against `/api/v1/schema/`: every operation, in-process (WSGI), as an admin
token and as an agent token, positive and negative data.

Required: no 5xx, every status code returned is documented for its operation (the
schema documents the error answers), every answer matches its schema, and JSON
everywhere. Undocumented status codes are also counted in the report.

Size: `SB_API_FUZZ_EXAMPLES` examples per operation and role (default 100: 12,400
cases, as some operations run out of distinct inputs first); `FUZZ_FULL=1` runs 10x that.
The number of cases actually run is written to `artifacts/api-fuzz.txt`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.types import NotSet

from config.wsgi import application
from tests.fixtures import ARTIFACTS, People

BASE = 1000 if os.environ.get("FUZZ_FULL") else 100
EXAMPLES = int(os.environ.get("SB_API_FUZZ_EXAMPLES", str(BASE)))
MIN_TOTAL = 2000  # the floor, checked when the whole module runs


def _raw_schema() -> dict[str, Any]:
    """The schema the API serves at /api/v1/schema/ (signed-in users only),
    generated in-process exactly as that view does."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw, renderer_context={}))


schema = schemathesis.from_dict(
    _raw_schema(),
    app=application,
    data_generation_methods=[
        schemathesis.DataGenerationMethod.positive,
        schemathesis.DataGenerationMethod.negative,
    ],
)

# Ids of rows the seed creates, read at draw time (the seed runs per test, ids change).
KNOWN: dict[str, list[Any]] = {"action": [1], "whatsapp": ["8613800000001"]}
# Which seeded rows an `{id}` names, by the path's first segment.
ID_KINDS = {
    "actions": "action",
    "action-batches": "batch",
    "lanes": "lane",
    "registrations": "registration",
    "scan-tasks": "scan_task",
    "webhook-events": "webhook_event",
    "jobs": "job",
    "imports": "job",
}
OWN_AGENT = "alice01"
RUN: Counter[str] = Counter()
UNDOCUMENTED: Counter[str] = Counter()


def _pick(kind: str) -> st.SearchStrategy[Any]:
    return st.integers(min_value=0, max_value=10**6).map(
        lambda i: KNOWN[kind][i % len(KNOWN[kind])]
    )


@schema.hook
def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    """Half of the ids name a row that exists, so detail pages are reached, not only 404s."""
    path = context.operation.path
    if "{id}" in path:
        kind = ID_KINDS.get(path.removeprefix("/api/v1/").split("/")[0], "action")
        return st.one_of(strategy, st.fixed_dictionaries({"id": _pick(kind)}))
    if "{whatsapp}" in path:
        return st.one_of(strategy, st.fixed_dictionaries({"whatsapp": _pick("whatsapp")}))
    return strategy


numbers = st.from_regex(r"\A86[0-9]{9,11}\Z")
valid_action = st.fixed_dictionaries(
    {
        "agent_account": st.sampled_from([OWN_AGENT, "bob01", "ghost01"]),
        "whatsapp": st.one_of(_pick("whatsapp"), numbers),
        "friend_whatsapp": numbers,
        "platform": st.sampled_from([1, 2, "1", 3]),
    },
    optional={"content": st.text(max_size=40)},
)


def _posts_actions(context: Any) -> bool:
    return bool(context.operation.path == "/api/v1/actions/" and context.operation.method == "post")


def _offline_avatar(body: Any) -> Any:
    """An avatar URL is fetched before anything is queued: keep the fuzz off the network
    (a DNS look-up per case) with a scheme the fetch refuses by itself."""
    if isinstance(body, dict) and isinstance(body.get("avatar"), str) and body["avatar"]:
        body = {**body, "avatar": "ftp://avatar.invalid/" + body["avatar"][-20:].strip("/")}
    return body


@schema.hook
def before_generate_body(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    """POST /actions/: besides schema-shaped noise, near-valid actions."""
    if _posts_actions(context):
        return st.one_of(strategy, valid_action)
    if context.operation.path in (
        "/api/v1/profile-updates/",
        "/api/v1/accounts/{whatsapp}/profile/",
    ):
        return strategy.map(_offline_avatar)
    return strategy


def _with_body(case: Any, body: Any) -> Any:
    case.body = body
    return case


def _form_encodable(case: Any) -> Any:
    """A negative form or multipart body that is not an object (`true`, `[1]`, `0.5`)
    cannot be form-encoded: it is sent as its JSON text under the form content type, which
    the server must refuse with a 4xx."""
    odd = not isinstance(case.body, (dict, NotSet)) and case.body is not None
    if odd and case.media_type != "application/json":
        case.body = json.dumps(case.body)
    return case


@schema.hook
def before_generate_case(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    """Every operation: bodies the client can encode. POST /actions/ as JSON: lists of
    near-valid actions too (one batch)."""
    strategy = strategy.map(_form_encodable)
    if not _posts_actions(context):
        return strategy

    def maybe_list(case: Any) -> st.SearchStrategy[Any]:
        if case.media_type != "application/json":
            return st.just(case)
        lists = st.lists(valid_action, max_size=3).map(lambda body: _with_body(case, body))
        return st.one_of(st.just(case), lists)

    return strategy.flatmap(maybe_list)


def _seed(people: People) -> None:
    """One of every kind of row the API lists, including the odd values the vendor sends
    (docs/design.md section 4): a presence code outside the table, a detail code outside it,
    null codes, a scan task without a creator, ids above 2^53."""
    from accounts.models import Agent, Registration, StatusEvent, WhatsAppAccount
    from actions.models import Action, ActionBatch, Lane, State
    from ports.models import CloudPort, PortQuota
    from qrlogin.models import ScanTask
    from webhooks.models import WebhookEvent, WebhookKind

    now = timezone.now()
    alice = Agent.objects.get(agent_account=OWN_AGENT)
    bob = Agent.objects.get(agent_account="bob01")
    numbers = []
    for i, (agent, presence, detail) in enumerate(
        [
            (alice, 10, 11),
            (alice, 1, 99),  # status "1" and an unknown detail, as the vendor sends
            (bob, 40, 43),
            (None, None, None),
        ]
    ):
        number = f"86138000000{i + 1:02d}"
        numbers.append(number)
        WhatsAppAccount.objects.create(
            whatsapp=number,
            name=f"n{i}",
            agent=agent,
            agent_account=agent.agent_account if agent else "",
            presence_status=presence,
            detail_status=detail,
            last_event_at=now if presence else None,
            country="哥伦比亚" if i == 2 else "",
        )
        if presence is not None:
            StatusEvent.objects.create(
                whatsapp=number,
                status=presence,
                detail_status=detail,
                agent_account=agent.agent_account if agent else "",
                platform=1,
                event_time=now,
                received_at=now,
                dedupe_key=f"fuzz-{i}",
            )
    Registration.objects.create(
        phone="13800000001",
        area_code="86",
        country_code="CN",
        verify_type=0,
        account_type=1,
        created_by=people.agent,
    )
    Registration.objects.create(
        phone="13800000002", area_code="57", country_code="CO", verify_type=3, account_type=2
    )
    CloudPort.objects.create(port_id="8639164839053938688", phone=numbers[0], status=10)
    CloudPort.objects.create(port_id="8639164839053938689", locked_until=now + timedelta(minutes=9))
    PortQuota.objects.update_or_create(pk=1, defaults={"current_port": 3, "max_port": 2})
    tasks = [
        ScanTask.objects.create(
            task_id="a" * 32, allocation_role=1, created_by=people.agent, status=80
        ),
        ScanTask.objects.create(task_id="b" * 32, allocation_role=3, upstream_user_id="10001"),
    ]
    events = [
        WebhookEvent.objects.create(kind=kind, body=b"{}", received_at=now, state=state)
        for kind, state in zip(WebhookKind.values, WebhookEvent.State.values, strict=False)
    ]
    batch = ActionBatch.objects.create(source=ActionBatch.Source.API, created_by=people.supervisor)
    draft = ActionBatch.objects.create(
        source=ActionBatch.Source.CSV,
        status=ActionBatch.Status.DRAFT,
        created_by=people.agent,
        draft_rows=[{"line": 2, "agent_account": OWN_AGENT, "whatsapp": "8613800000001",
                     "friend_whatsapp": "5731000000001", "platform": 1, "content": ""}],
    )  # fmt: skip
    ids = []
    for i, state in enumerate(State.values):
        agent = alice if i % 2 == 0 else bob
        lane, _ = Lane.objects.get_or_create(agent_account=agent.agent_account, whatsapp=numbers[0])
        action = Action.objects.create(
            lane=lane,
            batch=batch if i < 3 else None,
            agent=agent,
            agent_account=agent.agent_account,
            whatsapp=numbers[0],
            friend_whatsapp=f"5731000000{i:02d}",
            platform=1 + i % 2,
            state=state,
            reason=f"seeded {state}",
            warnings=["not online"] if i == 1 else [],
            callback_id="8639164839053938690" if state != State.QUEUED else "",
            execute_status=None if state == State.QUEUED else 1,
            execute_time=now if state == State.SUCCEEDED else None,
        )
        ids.append(action.pk)
    KNOWN["action"] = ids
    KNOWN["whatsapp"] = numbers
    KNOWN["batch"] = [batch.pk, draft.pk]
    KNOWN["lane"] = list(Lane.objects.values_list("pk", flat=True))
    KNOWN["registration"] = list(Registration.objects.values_list("pk", flat=True))
    KNOWN["scan_task"] = [t.pk for t in tasks]
    KNOWN["webhook_event"] = [e.pk for e in events]
    KNOWN["job"] = [0]


@pytest.fixture
def api(people: People, settings: Any, simulator: Any) -> Iterator[dict[str, str]]:
    """Seeded rows and one token per role. Queued actions would only reach the vendor
    after commit (never, inside the test transaction), and the vendor is the simulator.

    The WSGI handler closes the database connection at the end of each request (a
    connection inside an atomic block counts as obsolete): as Django's test client does,
    stop that while the test transaction is open."""
    from core.tokens import api_token_create

    settings.ALLOWED_HOSTS = ["*"]
    _seed(people)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {
            "admin": api_token_create(user=people.admin, name="fuzz")[1],
            "agent": api_token_create(user=people.agent, name="fuzz")[1],
        }
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _one_worker(fn: Any) -> Any:
    """Under xdist (`make test`), every case of this module runs in one worker, so the
    report sees them all. Without xdist (`make fuzz-full` runs with `-p no:xdist`, where
    the xdist_group marker is unknown to --strict-markers) there is nothing to group."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return pytest.mark.xdist_group("api_fuzz")(fn)
    return fn


REQUIRED = (
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
)


@_one_worker
@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "agent"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The seeded rows and tokens are meant to be shared by every example of one operation:
    # the function-scoped fixtures are set up once per operation on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api(case: Any, role: str, api: dict[str, str]) -> None:
    response = case.call_wsgi(headers={"Authorization": f"Token {api[role]}"})
    RUN[f"{case.operation.method.upper()} {case.operation.path} {role}"] += 1
    documented = case.operation.definition.raw.get("responses", {})
    if str(response.status_code) not in documented and "default" not in documented:
        UNDOCUMENTED[f"{case.operation.verbose_name} -> {response.status_code}"] += 1
    case.validate_response(response, checks=REQUIRED)


@_one_worker
@pytest.mark.slow
def test_api_fuzz_report() -> None:
    """Runs after the operations (same module, same worker): the total, written down."""
    total = sum(RUN.values())
    lines = [f"api fuzz: {total} cases, {EXAMPLES} max examples per operation and role"]
    lines += [f"  {n:6d}  {op}" for op, n in sorted(RUN.items())]
    lines.append(
        f"undocumented status codes (each also fails its case): {sum(UNDOCUMENTED.values())}"
    )
    lines += [f"  {n:6d}  {what}" for what, n in sorted(UNDOCUMENTED.items())]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "api-fuzz.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    operations = {
        f"{method.upper()} {path}"
        for path, methods in schema.raw_schema["paths"].items()
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    }
    ran = {k.rsplit(" ", 1)[0] for k in RUN}
    if ran >= operations:  # the whole module ran (not a -k selection)
        assert total >= MIN_TOTAL, f"only {total} cases"


def test_fuzz_findings_stay_fixed(api: dict[str, str]) -> None:
    """The failures the fuzz found, as plain requests (fast, and named)."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {api['admin']}")
    valid = {"agent_account": OWN_AGENT, "whatsapp": "8613800000001", "platform": 1}
    # NUL characters: 400, not a 500 from PostgreSQL.
    assert client.get("/api/v1/accounts/%00/").status_code == 400
    assert client.get("/api/v1/accounts/", {"agent_account": "\x00"}).status_code == 400
    nul = {**valid, "agent_account": "\x00", "friend_whatsapp": "8613900000001"}
    assert client.post("/api/v1/actions/", nul, "application/json").status_code == 400
    nul_content = {**valid, "friend_whatsapp": "8613900000001", "content": "a\x00b"}
    assert client.post("/api/v1/actions/", nul_content, "application/json").status_code == 400
    # Only ASCII digits are a number (`\d` also took "٣٣٣٣٣٣٣٣").
    body = {**valid, "friend_whatsapp": "٣٣٣٣٣٣٣٣"}
    assert client.post("/api/v1/actions/", body, "application/json").status_code == 400
    # A list is queued as one batch and answered as documented (ActionCreated).
    many = [{**valid, "friend_whatsapp": f"861390000000{i}"} for i in range(2)]
    answer = client.post("/api/v1/actions/", many, "application/json")
    assert answer.status_code == 201
    assert set(answer.json()) == {"batch", "results", "warnings"}
