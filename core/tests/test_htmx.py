"""One htmx rendering rule: a fragment for htmx, the whole page for a history restore
(the Back button) or a boosted link, 286 when a poll is finished."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

PAGES = ["/actions/", "/actions/lanes/", "/audit/", "/", "/accounts/logs/"]


@pytest.mark.parametrize("url", PAGES)
def test_back_button_gets_the_whole_page_not_a_fragment(people: Any, url: str) -> None:
    admin = client_for(people.admin)
    fragment = admin.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<!doctype html>" not in fragment.lower()
    restored = admin.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    ).content.decode()
    assert restored.lower().startswith("<!doctype html>")
    boosted = admin.get(url, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true").content.decode()
    assert boosted.lower().startswith("<!doctype html>")
