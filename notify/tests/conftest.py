from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from notify.tests.sink import Sink, running_sink


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as s:
        yield s


@pytest.fixture
def local_allowed(settings: Any) -> None:
    """The sink listens on loopback: allow exactly that for the test."""
    settings.OUTBOUND_ALLOWED_NETS = ["127.0.0.1/32"]
    settings.AVATAR_FETCH_ALLOWED_NETS = []
