"""The pages: both sides of every door, cancel, progress polling, filters, strict CSP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from actions.models import Action, ActionBatch, Lane, State
from actions.services.intake import ActionSpec, actions_queue, batch_create
from actions.services.manage import NotAllowedNow, action_mark_failed
from core.models import AuditEntry
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

PAGES = ["/actions/", "/actions/new/", "/actions/upload/", "/actions/batches/", "/actions/lanes/"]


def queue_for(people: Any, agent_account: str, n: int = 1, batch: ActionBatch | None = None):
    specs = [ActionSpec(agent_account, "8613800000001", f"86139000000{i:02d}", 1) for i in range(n)]
    return actions_queue(user=people.supervisor, specs=specs, batch=batch)


@pytest.mark.parametrize("url", PAGES)
def test_doors(people: Any, url: str) -> None:
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert client_for(people.outsider).get(url).status_code == 403
    for who in (people.agent, people.peer, people.supervisor, people.admin):
        assert client_for(who).get(url).status_code == 200


def test_agents_see_only_their_own(people: Any) -> None:
    mine = queue_for(people, "alice01")[0]
    theirs = queue_for(people, "bob01")[0]
    alice = client_for(people.agent)
    listing = alice.get("/actions/").content.decode()
    assert f'href="/actions/{mine.pk}/"' in listing
    assert f'href="/actions/{theirs.pk}/"' not in listing
    assert alice.get(f"/actions/{theirs.pk}/").status_code == 404
    assert alice.post(f"/actions/{theirs.pk}/cancel/").status_code == 404
    bob_lane = Lane.objects.get(agent_account="bob01")
    assert alice.post(f"/actions/lanes/{bob_lane.pk}/pause/").status_code == 404
    sup = client_for(people.supervisor).get("/actions/").content.decode()
    assert f'href="/actions/{theirs.pk}/"' in sup and f'href="/actions/{mine.pk}/"' in sup


def test_cancel_queued_only(people: Any) -> None:
    action = queue_for(people, "alice01")[0]
    client = client_for(people.agent)
    assert client.post(f"/actions/{action.pk}/cancel/").status_code == 302
    action.refresh_from_db()
    assert action.state == State.CANCELLED and "Cancelled by alice" in action.reason
    client.post(f"/actions/{action.pk}/cancel/")  # twice: refused politely
    (entry,) = AuditEntry.objects.filter(action="actions.cancel")
    assert (entry.before, entry.after) == ({"state": "queued"}, {"state": "cancelled"})
    with pytest.raises(NotAllowedNow, match="Only actions in the unknown state can be marked"):
        action_mark_failed(user=people.supervisor, action=action)
    assert not AuditEntry.objects.filter(action="actions.mark_failed").exists()
    sup_action = queue_for(people, "bob01")[0]
    Action.objects.filter(pk=sup_action.pk).update(state=State.SENT)
    response = client_for(people.supervisor).post(f"/actions/{sup_action.pk}/cancel/", follow=True)
    assert (
        "Only queued actions can be cancelled; this one is Sent, waiting for the result."
        in response.content.decode()
    )


def test_batch_progress_polls_until_settled(people: Any) -> None:
    batch = batch_create(user=people.supervisor, source=ActionBatch.Source.API)
    actions = queue_for(people, "alice01", n=3, batch=batch)
    client = client_for(people.agent)
    page = client.get(f"/actions/batches/{batch.pk}/").content.decode()
    assert "<progress" in page and f'hx-trigger="sse:batch-{batch.pk}, live-poll"' in page
    fragment = client.get(f"/actions/batches/{batch.pk}/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "0 of 3 settled" in fragment.content.decode()
    Action.objects.filter(pk=actions[0].pk).update(state=State.SUCCEEDED)
    Action.objects.filter(pk=actions[1].pk).update(state=State.UNKNOWN)
    Action.objects.filter(pk=actions[2].pk).update(state=State.FAILED)
    done = client.get(f"/actions/batches/{batch.pk}/", HTTP_HX_REQUEST="true")
    assert done.status_code == 286
    assert "needs a person to decide" in done.content.decode()
    assert client_for(people.peer).get(f"/actions/batches/{batch.pk}/").status_code == 404


def test_history_filters(people: Any) -> None:
    a = queue_for(people, "alice01", n=2)
    b = queue_for(people, "bob01", n=1)
    Action.objects.filter(pk=a[0].pk).update(state=State.FAILED)
    sup = client_for(people.supervisor)

    def ids(query: str) -> set[int]:
        html = sup.get(f"/actions/?{query}").content.decode()
        return {int(x) for x in re.findall(r'href="/actions/(\d+)/"', html)}

    assert ids("state=failed") == {a[0].pk}
    assert ids("agent_account=bob01") == {b[0].pk}
    assert ids("whatsapp=8613900000001") == {a[1].pk}
    assert ids("date_from=2000-01-01&date_to=2000-01-02") == set()
    empty = sup.get("/actions/?state=cancelled").content.decode()
    assert "No action matches these filters" in empty
    fragment = sup.get("/actions/?state=failed", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and f"/actions/{a[0].pk}/" in fragment


def test_empty_states_say_what_to_do(people: Any) -> None:
    alice = client_for(people.agent)
    assert "Queue one with the form" in alice.get("/actions/").content.decode()
    assert "No lanes yet" in alice.get("/actions/lanes/").content.decode()
    assert "No batches yet" in alice.get("/actions/batches/").content.decode()


def test_templates_have_no_inline_script_or_style() -> None:
    root = Path(__file__).resolve().parents[1] / "templates" / "actions"
    for template in root.glob("*.html"):
        text = template.read_text()
        assert " style=" not in text and "<style" not in text, template
        assert re.search(r"<script(?![^>]*\bsrc=)", text) is None, template
        assert " on" not in re.sub(r"\s+", " ", text).replace(" only", "") or not re.search(
            r"\son[a-z]+=", text
        ), template


def test_cancelling_a_batch_asks_with_the_count_first(people: Any) -> None:
    """A page asks (it works with the keyboard and without JavaScript), naming the count;
    only the confirmed POST cancels."""
    batch = batch_create(user=people.supervisor, source=ActionBatch.Source.API)
    queue_for(people, "alice01", n=3, batch=batch)
    client = client_for(people.supervisor)
    url = f"/actions/batches/{batch.pk}/cancel/"
    asked = client.post(url)
    html = asked.content.decode()
    assert asked.status_code == 200
    assert f"Cancel 3 queued actions of batch #{batch.pk}?" in html
    assert 'name="confirmed" value="1"' in html
    assert Action.objects.filter(batch=batch, state=State.QUEUED).count() == 3
    done = client.post(url, {"confirmed": "1"})
    assert done.status_code == 302
    assert Action.objects.filter(batch=batch, state=State.CANCELLED).count() == 3
