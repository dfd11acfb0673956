"""Request types for views, so mypy knows what middleware put on the request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails
    request_id: str


class AuthedRequest(HtmxRequest):
    user: User
