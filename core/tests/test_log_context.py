"""One piece of work keeps one request id from the web request into the Celery task,
and its log lines carry both ids."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from django.core.cache import cache

from core.logging import (
    ContextFilter,
    JsonFormatter,
    current_request_id,
    current_task_id,
    reset_request_id,
    set_request_id,
)
from core.tasks import task

pytestmark = pytest.mark.django_db(transaction=True)


@task(name="core.tests.remember_ids")
def remember_ids(key: str) -> None:
    cache.set(key, [current_request_id(), current_task_id()], 60)


def test_request_id_follows_the_work_into_a_real_worker(celery_worker_live: Any) -> None:
    token = set_request_id("req-0123456789abcdef")
    try:
        result = remember_ids.delay("ids")
    finally:
        reset_request_id(token)
    deadline = time.time() + 20
    while time.time() < deadline and cache.get("ids") is None:
        time.sleep(0.05)
    request_id, task_id = cache.get("ids")
    assert request_id == "req-0123456789abcdef"
    assert task_id == result.id


def test_json_log_lines_carry_both_ids() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = set_request_id("req-abc12345")
    try:
        ContextFilter().filter(record)
    finally:
        reset_request_id(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello world"
    assert line["request_id"] == "req-abc12345"
    assert line["task_id"] == "-"


def test_response_echoes_the_request_id(client: Any) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="proxy-id-12345678")
    assert response["X-Request-Id"] == "proxy-id-12345678"
    minted = client.get("/healthz", HTTP_X_REQUEST_ID="bad id!")["X-Request-Id"]
    assert minted != "bad id!" and len(minted) == 32


@pytest.mark.django_db
def test_each_request_ends_with_one_json_access_line_without_the_path_token(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Access lines come from the application in the same JSON as every other line (the
    server's plain-text access log is off), with method, path, status and duration; a
    webhook path token is a credential and never reaches a log."""
    caplog.set_level(logging.INFO, logger="switchboard.access")
    client.get("/accounts/", HTTP_X_REQUEST_ID="req-access-0001")
    client.post("/hooks/s3cret-path-token-0123456789abcdef/callback/gsTask/syncWhatsAppStatus")
    lines = [r for r in caplog.records if r.name == "switchboard.access"]
    assert len(lines) == 2
    first = json.loads(JsonFormatter().format(lines[0]))
    assert first["method"] == "GET" and first["path"] == "/accounts/"
    assert first["status"] == 302 and first["duration_ms"] >= 0
    second = JsonFormatter().format(lines[1])
    assert "s3cret-path-token" not in second and "/hooks/[redacted]/callback/" in second
