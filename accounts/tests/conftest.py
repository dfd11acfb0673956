from collections.abc import Iterator

import pytest

from tests.fixtures import forget_own_cache_keys


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Tile counts, filter menus and contact rate limits live in the cache."""
    forget_own_cache_keys()
    yield
    forget_own_cache_keys()
