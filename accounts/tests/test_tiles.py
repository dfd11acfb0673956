"""One truth per screen: every account is in exactly one login-state tile, unknown included."""

from __future__ import annotations

import pytest

from accounts.models import WhatsAppAccount
from accounts.selectors import account_state_counts
from accounts.tests.helpers import make_account
from tests.fixtures import People, client_for, forget_own_cache_keys


@pytest.mark.django_db
def test_login_state_tiles_add_up_to_all(people: People) -> None:
    forget_own_cache_keys()
    for i, state in enumerate([1, 2, 2, 3, 4, 4, 4, None, None, 7]):  # 7: undocumented
        make_account(f"86138000010{i:02d}", online_status=state)
    counts = account_state_counts(visible=WhatsAppAccount.objects.all())
    parts = ("online", "logging_in", "logging_out", "offline", "unknown")
    assert sum(counts[p] for p in parts) == counts["total"] == 10
    assert (counts["online"], counts["offline"], counts["unknown"]) == (2, 3, 3)
    page = client_for(people.supervisor).get("/").content.decode()
    assert "Login state unknown" in page and "Logging out" in page
