"""One truth per screen: the state tiles partition the fleet (every account in exactly one,
unknown included), and each tile links to exactly the rows it counts."""

from __future__ import annotations

import pytest

from accounts.models import WhatsAppAccount
from accounts.selectors import (
    FLEET_STATES,
    FleetFilters,
    account_state_counts,
    fleet_filter,
)
from accounts.tests.helpers import make_account
from tests.fixtures import People, client_for, forget_own_cache_keys


@pytest.mark.django_db
def test_login_state_tiles_add_up_to_all(people: People) -> None:
    forget_own_cache_keys()
    for i, state in enumerate([1, 2, 2, 3, 4, 4, 4, None, None, 7]):  # 7: undocumented
        make_account(f"86138000010{i:02d}", online_status=state)
    counts = account_state_counts(visible=WhatsAppAccount.objects.all())
    assert sum(counts[p] for p in FLEET_STATES) == counts["total"] == 10
    assert (counts["online"], counts["offline"], counts["unknown"]) == (2, 3, 3)
    page = client_for(people.supervisor).get("/").content.decode()
    assert "Login state unknown" in page and "Logging out" in page


@pytest.mark.django_db
def test_the_tiles_partition_every_state_an_account_can_have(people: People) -> None:
    """Every combination of login state (none, the four, an undocumented 7), account status,
    presence (none, the four) and recycled: the tiles add up to the total, none counts an
    account twice, and each tile's link lists as many rows as it counts."""
    forget_own_cache_keys()
    n = 0
    for online_status in (None, 1, 2, 3, 4, 7):
        for status in (1, 2):
            for presence in (None, 10, 20, 30, 40):
                for recycled in (False, True):
                    n += 1
                    make_account(
                        f"8613900{n:05d}",
                        online_status=online_status,
                        status=status,
                        presence_status=presence,
                        recycled=recycled,
                    )
    visible = WhatsAppAccount.objects.all()
    counts = account_state_counts(visible=visible)
    assert counts["total"] == n
    assert sum(counts[s] for s in FLEET_STATES) == n
    for state in FLEET_STATES:
        rows = fleet_filter(visible, FleetFilters(state=state)).count()
        assert rows == counts[state], state
    assert all(counts[s] for s in FLEET_STATES)
    page = client_for(people.supervisor).get("/accounts/").content.decode()
    tiles = page.split('id="counts"')[1].split("</section>")[0]
    assert "?status=2" not in tiles and "?presence=20" not in tiles
    assert all(f"?state={s}" in tiles for s in FLEET_STATES)


@pytest.mark.django_db
def test_the_fleet_filters_have_distinct_labels_in_both_languages(people: People) -> None:
    """The tiles' filter sits beside the account status filter: not both "状态" in Chinese."""
    import re

    client = client_for(people.supervisor)
    for lang in ("en", "zh-hans"):
        client.post("/i18n/setlang/", {"language": lang, "next": "/"})
        form = client.get("/accounts/").content.decode().split('id="filters"')[1]
        labels = re.findall(r"<label>([^<]+)<", form.split("</form>")[0])
        assert labels and len(labels) == len(set(labels)), (lang, labels)
