"""DRF conventions shared by every app's apis.py."""

from __future__ import annotations

from typing import Any

from django.db import DataError
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.choices import label
from core.ratelimit import TryLater, retry_after, with_try_again


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


# --- errors: one body for every error answer, documented on every operation ----------------


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Every error answer of the API. Input errors add one key per field (a list of
    messages), or `errors` (per row of a list, per line of an import)."""

    detail = serializers.CharField(help_text="What went wrong, in words")
    code = serializers.IntegerField(help_text="The HTTP status again")


def error(status: int, detail: Any, /, **extra: Any) -> Response:
    """An error answer in the shape of ErrorSerializer; a TryLater refusal (a 429) carries
    Retry-After, and its detail says when."""
    response = Response({"detail": str(detail), "code": status, **extra}, status=status)
    if isinstance(detail, TryLater):
        retry_after(response, detail.retry_after)
    return response


def field_errors(errors: Any) -> dict[str, Any]:
    """A serializer's errors as plain JSON (messages as strings)."""
    if isinstance(errors, dict):
        return {str(k): field_errors(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [field_errors(v) for v in errors]  # type: ignore[return-value]
    if isinstance(errors, (int, float)) or errors is None:
        return errors  # type: ignore[return-value]  # e.g. a row's index
    return str(errors)  # type: ignore[return-value]


def invalid(errors: Any, detail: str = "The input is not valid: see the fields.", /) -> Response:
    """400 for a serializer's errors: one key per field, plus `detail` and `code`."""
    body = field_errors(errors)
    if not isinstance(body, dict):
        body = {"errors": body}
    # A field named like the body's own keys ("code": a verification code) goes in `errors`.
    clash = {k: body.pop(k) for k in ("detail", "code") if k in body}
    if clash:
        body.setdefault("errors", clash)
    return error(400, detail, **body)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DataError) and "NUL" in str(exc):
        # A NUL character in a query, path or body value: PostgreSQL text cannot hold one.
        # psycopg refuses it before sending, so the transaction is intact (API fuzz).
        return error(400, "Text values may not contain NUL (0x00) characters.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Throttled):  # DRF set Retry-After; the detail says it in words
        wait = getattr(exc, "wait", None) or 60
        response.data = {"detail": with_try_again(_("Too many requests."), wait)}
        retry_after(response, wait)
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", response.status_code)
    elif response.status_code == 400:  # a ValidationError: fields, or a list of messages
        response.data = invalid(response.data).data
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
