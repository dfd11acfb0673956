"""The agent-facing pages speak Simplified Chinese when the user chooses it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.fixtures import People, client_for


@pytest.mark.django_db
def test_qr_login_and_actions_pages_in_chinese(people: People, simulator: Any) -> None:
    client = client_for(people.agent)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    start = client.get(reverse("qrlogin:start")).content.decode()
    assert "账号运行位置" in start and "手机关联方式" in start
    assert "打开会话动作" in client.get(reverse("actions:list")).content.decode()
