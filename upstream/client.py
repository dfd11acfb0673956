"""Placeholder until the typed client lands (issue 3): reachability only."""

from __future__ import annotations

import requests
from django.conf import settings

from upstream.errors import UpstreamUnavailable


def ping() -> None:
    try:
        requests.get(settings.UPSTREAM_BASE_URL, timeout=(1.0, 2.0))
    except requests.RequestException as exc:
        raise UpstreamUnavailable(f"upstream unreachable: {type(exc).__name__}") from exc
