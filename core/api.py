"""DRF conventions shared by every app's apis.py."""

from __future__ import annotations

from typing import Any

from django.db import DataError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    """Lists answer `{"count", "next", "previous", "results"}`."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetPagination(CursorPagination):
    """For big tables (status events): constant cost per page, `next` link, `results`."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = ("-id",)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DataError) and "NUL" in str(exc):
        # A NUL character in a query, path or body value: PostgreSQL text cannot hold one.
        # psycopg refuses it before sending, so the transaction is intact (API fuzz).
        return Response(
            {"detail": "Text values may not contain NUL (0x00) characters.", "code": 400},
            status=400,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", response.status_code)
    return response


@extend_schema_field(OpenApiTypes.STR)
class ChoiceDisplayField(serializers.Field):
    """`<field>_display`: the label of an integer code, tolerating unknown codes.

    Use as `status_display = ChoiceDisplayField("status", Presence)`."""

    def __init__(self, source_field: str, choices: Any, **kwargs: Any) -> None:
        self.source_field = source_field
        self.choices = choices
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        from accounts.choices import label

        return label(self.choices, getattr(value, self.source_field))


class TokenAuthScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents `Authorization: Token <key>` in the OpenAPI schema."""

    target_class = "core.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token-based authentication: `Token <key>` (create keys at /tokens/).",
        }
