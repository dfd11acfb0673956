from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from upstream import breaker
from upstream.tests.vendor_server import VendorServer


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    """Every test starts and ends with a closed breaker (its state lives in the cache)."""
    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture(scope="session")
def _vendor_server() -> Iterator[VendorServer]:
    from django.conf import settings

    server = VendorServer(
        api_key=settings.UPSTREAM_API_KEY, secret=settings.UPSTREAM_API_SECRET
    ).start()
    yield server
    server.stop()


@pytest.fixture
def vendor(_vendor_server: VendorServer, settings: Any) -> VendorServer:
    """The scripted vendor, reset, with the client pointed at it."""
    _vendor_server.reset()
    _vendor_server.api_key = settings.UPSTREAM_API_KEY
    _vendor_server.secret = settings.UPSTREAM_API_SECRET
    settings.UPSTREAM_BASE_URL = _vendor_server.url
    return _vendor_server
