"""JSON API: the webhook inbox (admins) and the status event history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from accounts.access import accounts_visible_to
from accounts.choices import DetailStatus, Platform, Presence
from accounts.models import StatusEvent
from core.access import HasCap, sees_everything
from core.api import ChoiceDisplayField, KeysetPagination
from core.roles import Cap
from webhooks.models import WebhookEvent, WebhookKind


class WebhookEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "kind",
            "kind_display",
            "state",
            "state_display",
            "received_at",
            "signature_ok",
            "error",
            "attempts",
            "claimed_at",
            "processed_at",
            "records",
            "applied",
            "rejected_records",
        ]
        read_only_fields = fields


@extend_schema(
    parameters=[
        OpenApiParameter("kind", OpenApiTypes.STR, enum=WebhookKind.values),
        OpenApiParameter("state", OpenApiTypes.STR, enum=WebhookEvent.State.values),
    ]
)
class WebhookEventList(generics.ListAPIView):  # type: ignore[type-arg]
    """The webhook inbox, newest first (admins)."""

    serializer_class = WebhookEventSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.VIEW_INBOX)]
    pagination_class = KeysetPagination

    def get_queryset(self) -> QuerySet[WebhookEvent]:
        qs = WebhookEvent.objects.defer("body", "headers")
        params = self.request.query_params
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("state"):
            qs = qs.filter(state=params["state"])
        return qs


class StatusEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    status_display = ChoiceDisplayField("status", Presence)
    detail_status_display = ChoiceDisplayField("detail_status", DetailStatus)
    platform_display = ChoiceDisplayField("platform", Platform)

    class Meta:
        model = StatusEvent
        fields = [
            "id",
            "whatsapp",
            "status",
            "status_display",
            "detail_status",
            "detail_status_display",
            "agent_account",
            "platform",
            "platform_display",
            "event_time",
            "source",
        ]
        read_only_fields = fields


@extend_schema(parameters=[OpenApiParameter("whatsapp", OpenApiTypes.STR)])
class StatusEventList(generics.ListAPIView):  # type: ignore[type-arg]
    """Status history (every distinct record, kept in full). Agents see only the events of
    the accounts visible to them."""

    serializer_class = StatusEventSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = KeysetPagination

    def get_queryset(self) -> QuerySet[StatusEvent]:
        qs = StatusEvent.objects.all()
        user: Any = self.request.user
        if not sees_everything(user):
            qs = qs.filter(whatsapp__in=accounts_visible_to(user).values("whatsapp"))
        number = self.request.query_params.get("whatsapp")
        if number:
            qs = qs.filter(whatsapp=number)
        return qs
