"""The outgoing events are in the OpenAPI schema (x-webhooks), and what the code really sends
validates against it: events raised through the real services, their bodies as delivered."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Registration
from accounts.services.status import account_status_apply, registration_result_apply
from notify.models import Event, EventType
from notify.services.deliveries import event_body
from notify.tests.test_events import NUMBER, subscribe
from tests.fixtures import People, client_for

pytestmark = pytest.mark.django_db


def _served_schema(people: People) -> dict[str, Any]:
    response = client_for(people.admin).get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    return dict(response.json())


def _json_schema(openapi: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's type list, for a validator."""
    if isinstance(openapi, dict):
        out = {k: _json_schema(v) for k, v in openapi.items() if k != "nullable"}
        if openapi.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(openapi, list):
        return [_json_schema(v) for v in openapi]
    return openapi


def test_every_event_type_is_documented_with_its_payload(people: People) -> None:
    schema = _served_schema(people)
    assert schema["openapi"].startswith("3.0") and "webhooks" not in schema
    documented = schema["x-webhooks"]
    assert set(documented) == {str(t) for t in EventType}
    body = documented["job.finished"]["post"]["requestBody"]["content"]["application/json"]
    data = body["schema"]["properties"]["data"]
    assert set(data["required"]) == {
        "id",
        "kind",
        "state",
        "total",
        "done",
        "failed",
        "finished_at",
    }


def test_what_is_sent_validates_against_the_schema(people: People) -> None:
    subscribe(people.admin, "https://example.com/hook", [str(t) for t in EventType])
    account_status_apply(
        whatsapp=NUMBER, status=2, online_status=4, reason="1004", received_at=timezone.now()
    )
    reg = Registration.objects.create(
        phone="13800000000", area_code="+86", country_code="CN", verify_type=0, account_type=1
    )
    registration_result_apply(phone=reg.phone, ok=False, received_at=timezone.now())
    documented = _served_schema(people)["x-webhooks"]
    events = list(Event.objects.all())
    assert {e.type for e in events} >= {
        EventType.ACCOUNT_STATUS_CHANGED,
        EventType.ACCOUNT_BANNED,
        EventType.REGISTRATION_FINISHED,
    }
    for event in events:
        body = json.loads(event_body(event))
        post = documented[event.type]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.validate(body, _json_schema(schema))
    # The check can fail: a payload missing a documented key is refused.
    broken = json.loads(event_body(events[0]))
    del broken["data"]["state" if "state" in broken["data"] else "status"]
    schema = documented[events[0].type]["post"]["requestBody"]["content"]["application/json"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _json_schema(schema["schema"]))
