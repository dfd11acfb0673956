"""JSON API: the webhook inbox (admins: list, one event, replay), its quarantine (refused
deliveries: list, accept) and the status event history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import accounts_visible_to
from accounts.choices import DetailStatus, Platform, Presence
from accounts.models import StatusEvent
from core.access import HasCap, sees_everything
from core.api import ChoiceDisplayField, ErrorSerializer, KeysetPagination, error
from core.roles import Cap
from webhooks import selectors
from webhooks.models import RefusedDelivery, WebhookEvent, WebhookKind
from webhooks.services import maintenance, receive


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


EVENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The event id")


def _event(pk: str) -> WebhookEvent:
    if not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
        raise NotFound()
    event = selectors.webhook_event_get(event_id=int(pk))
    if event is None:
        raise NotFound()
    return event


class WebhookEventDetail(APIView):
    """One inbox event (admins), without its body and headers (the inbox page shows them)."""

    permission_classes = [IsAuthenticated, HasCap.of(Cap.VIEW_INBOX)]

    @extend_schema(parameters=[EVENT_ID], responses={200: WebhookEventSerializer})
    def get(self, request: Request, pk: str) -> Response:
        return Response(WebhookEventSerializer(_event(pk)).data)


class WebhookEventReplay(APIView):
    """Process a failed, rejected or stuck event again (admins), as the inbox page's
    replay does: a rejected body is validated again first; the answer is the event."""

    permission_classes = [IsAuthenticated, HasCap.of(Cap.VIEW_INBOX)]

    @extend_schema(
        request=None,
        parameters=[EVENT_ID],
        responses={
            200: WebhookEventSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="Only failed, rejected or stuck events replay"
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        event = _event(pk)
        try:
            maintenance.webhook_event_replay(event_id=event.pk, actor=request.user)
        except maintenance.NotReplayable as exc:
            return error(409, exc)
        event.refresh_from_db()
        return Response(WebhookEventSerializer(event).data)


class RefusedDeliverySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    acceptable = serializers.BooleanField(read_only=True)

    class Meta:
        model = RefusedDelivery
        fields = [
            "id",
            "received_at",
            "path",
            "kind",
            "auth_check",
            "reason",
            "detail",
            "source_addr",
            "header_names",
            "body_bytes",
            "body_truncated",
            "state",
            "state_display",
            "acceptable",
            "accepted_at",
            "event",
        ]
        read_only_fields = fields


class RefusedDeliveryList(generics.ListAPIView):  # type: ignore[type-arg]
    """The quarantine: deliveries refused by webhook authentication, newest first (admins)."""

    serializer_class = RefusedDeliverySerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.VIEW_INBOX)]
    pagination_class = KeysetPagination

    def get_queryset(self) -> QuerySet[RefusedDelivery]:
        return RefusedDelivery.objects.defer("body", "headers")


DELIVERY_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The delivery id")


def _refused(pk: str) -> RefusedDelivery:
    if not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
        raise NotFound()
    row = selectors.refused_delivery_get(delivery_id=int(pk))
    if row is None:
        raise NotFound()
    return row


class RefusedDeliveryAccept(APIView):
    """Accept a quarantined delivery after review (admins): it enters the inbox and is
    applied as if it had passed authentication; the answer is the new inbox event."""

    permission_classes = [IsAuthenticated, HasCap.of(Cap.VIEW_INBOX)]

    @extend_schema(
        request=None,
        parameters=[DELIVERY_ID],
        responses={
            200: WebhookEventSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="Already accepted, or its body was cut"
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        row = _refused(pk)
        try:
            receipt = receive.refused_delivery_accept(delivery_id=row.pk, actor=request.user)
        except receive.NotAcceptable as exc:
            return error(409, exc)
        return Response(WebhookEventSerializer(_event(str(receipt.event_id))).data)


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


class StatusEventPagination(KeysetPagination):
    """Newest first by event time, the history's partition key (so a page reads the
    newest months only); ties in the same microsecond keep DRF's offset within them."""

    ordering = ("-event_time", "-id")  # type: ignore[assignment]


@extend_schema(parameters=[OpenApiParameter("whatsapp", OpenApiTypes.STR)])
class StatusEventList(generics.ListAPIView):  # type: ignore[type-arg]
    """Status history (every distinct record, kept in full). Agents see only the events of
    the accounts visible to them."""

    serializer_class = StatusEventSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = StatusEventPagination

    def get_queryset(self) -> QuerySet[StatusEvent]:
        from accounts.selectors import EventFilters, event_filter

        qs = StatusEvent.objects.all()
        user: Any = self.request.user
        if not sees_everything(user):
            qs = qs.filter(whatsapp__in=accounts_visible_to(user).values("whatsapp"))
        number = self.request.query_params.get("whatsapp") or ""
        # Time-bounded like the status logs page: only the months a page needs are read.
        return event_filter(qs, EventFilters(whatsapp=number))
