"""DRF conventions shared by every app's apis.py."""

from __future__ import annotations

from typing import Any

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
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", response.status_code)
    return response


class ChoiceDisplayField(serializers.SerializerMethodField):
    """`<field>_display`: the label of an integer code, tolerating unknown codes."""

    def __init__(self, source_field: str, choices: Any, **kwargs: Any) -> None:
        self.source_field = source_field
        self.choices = choices
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        from accounts.choices import label

        return label(self.choices, getattr(value, self.source_field))
