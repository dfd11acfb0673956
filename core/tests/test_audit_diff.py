"""The audit log shows "field: old → new" per changed field and folds long lists."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.audit import audit_record
from core.audit_diff import SHOWN, audit_changes
from tests.fixtures import client_for


def test_changes_name_each_field_that_differs() -> None:
    changes = audit_changes(
        {"name": "Old", "avatar": "a.png", "gone": 1}, {"name": "New", "avatar": "a.png", "new": 2}
    )
    assert [(c.field, c.old and c.old.text, c.new and c.new.text) for c in changes] == [
        ("name", "Old", "New"),
        ("new", None, "2"),
        ("gone", "1", None),
    ]
    numbers = [f"86138000{i:04d}" for i in range(12)]
    (folded,) = audit_changes(None, {"whatsapps": numbers})
    assert folded.old is None and folded.new is not None
    assert folded.new.text == ", ".join(numbers[:SHOWN]) and folded.new.more == numbers[SHOWN:]


@pytest.mark.django_db
def test_the_audit_page_shows_old_to_new_and_folds(people: Any) -> None:
    numbers = [f"86138000{i:04d}" for i in range(12)]
    audit_record(
        actor=people.supervisor,
        action="accounts.profile",
        target_type="account",
        target_id="8613800000001",
        before={"name": "Old name"},
        after={"name": "New name", "whatsapps": numbers},
    )
    page = client_for(people.admin).get("/audit/").content.decode()
    # The field in words, its code in the tooltip.
    assert re.search(r'<strong title="name">Name</strong>: Old name → New name', page)
    assert "and 7 more" in page and numbers[11] in page.split("and 7 more", 1)[1]
