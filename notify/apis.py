"""JSON API: event subscriptions and their deliveries (admins), alert channels, rules and
alerts (supervisors and admins). Secrets are returned once (a new subscription's
`secret`) and masked everywhere else."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import HasCap, ReadOrChange
from core.api import Pagination
from core.roles import Cap
from notify import selectors
from notify.models import (
    Alert,
    AlertChannel,
    AlertRule,
    Delivery,
    EventType,
    RuleKey,
    Subscription,
)
from notify.services import alerts as alert_services
from notify.services import events as event_services

ERROR = inline_serializer(
    "NotifyError",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.IntegerField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
    },
)
ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ERROR, description="Invalid input"),
    403: OpenApiResponse(ERROR, description="Not allowed"),
    404: OpenApiResponse(ERROR, description="No such object"),
}


def _get(model: Any, pk: str) -> Any:
    """One row by a path id (any text: a non-number is a JSON 404 like a missing row)."""
    if not re.fullmatch(r"[0-9]{1,18}", str(pk)):  # not str.isdigit: "¹" is a digit
        raise Http404
    return get_object_or_404(model, pk=int(pk))


def _bad(detail: str, errors: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"detail": detail, "code": 400}
    if errors:
        body["errors"] = errors
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _invalid(form: serializers.Serializer[Any]) -> Response:
    errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
    first = next(iter(errors.items()), ("", ["Invalid input."]))
    return _bad(f"{first[0]}: {first[1][0]}", errors)


def _apply(
    request: Request,
    form_class: type[serializers.Serializer[Any]],
    service: Callable[[dict[str, Any]], Response],
    refused: type[Exception],
) -> Response:
    """A write: the body checked against `form_class`, then `service` given the valid data
    answers; invalid input, or the service raising `refused`, is a 400."""
    form = form_class(data=request.data)
    if not form.is_valid():
        return _invalid(form)
    try:
        return service(form.validated_data)
    except refused as exc:
        return _refused(exc)


def _refused(exc: Exception) -> Response:
    """A service's refusal: a 400 whose `errors` names the field when the refusal does."""
    field = getattr(exc, "field", None)
    return _bad(str(exc), {field: [str(exc)]} if field else None)


# A row's GET, PUT and DELETE by path id. The subclass names the row's model, its serializers,
# and the services that change and delete it (they take the row as `row_keyword`); the error
# class `refused` of the update service is a 400. No docstring here: drf-spectacular would
# take it as every subclass's description.
class _RowDetail(APIView):
    model: type[Model]
    serializer: type[serializers.Serializer[Any]]
    update_form: type[serializers.Serializer[Any]]
    refused: type[Exception]
    row_keyword: str
    update_service: Callable[..., Any]
    delete_service: Callable[..., None]

    def get(self, request: Request, pk: str) -> Response:
        return Response(self.serializer(_get(self.model, pk)).data)

    def put(self, request: Request, pk: str) -> Response:
        row = _get(self.model, pk)

        def update(data: dict[str, Any]) -> Response:
            kwargs = {"actor": request.user, self.row_keyword: row, **data}
            return Response(self.serializer(self.update_service(**kwargs)).data)

        return _apply(request, self.update_form, update, self.refused)

    def delete(self, request: Request, pk: str) -> Response:
        row = _get(self.model, pk)
        self.delete_service(actor=request.user, **{self.row_keyword: row})
        return Response(status=status.HTTP_204_NO_CONTENT)


def _detail_schema(view: type[_RowDetail]) -> type[_RowDetail]:
    """Class decorator: the OpenAPI operations of a `_RowDetail` subclass, from its serializers."""
    out = view.serializer
    return extend_schema_view(
        get=extend_schema(responses={200: out, **ERRORS}),
        put=extend_schema(
            request={"application/json": view.update_form}, responses={200: out, **ERRORS}
        ),
        delete=extend_schema(responses={204: None, **ERRORS}),
    )(view)


# --- event subscriptions ----------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    secret = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "disabled_reason",
            "failing_since",
            "created_at",
            "secret",
        ]
        read_only_fields = fields

    def get_secret(self, obj: Subscription) -> str:
        return selectors.masked_secret()


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """The answer to a create: the only time the secret is shown."""

    def get_secret(self, obj: Subscription) -> str:
        return str(self.context["secret"])


class SubscriptionInput(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=1000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False
    )
    description = serializers.CharField(max_length=255, allow_blank=True, default="")


class SubscriptionUpdate(SubscriptionInput):
    enabled = serializers.BooleanField(default=True)


MANAGE_EVENTS: list[type[BasePermission]] = [IsAuthenticated, HasCap.of(Cap.MANAGE_EVENTS)]
# Supervisors read subscriptions (secrets masked) and deliveries; admins change them.
READ_EVENTS: list[type[BasePermission]] = [
    IsAuthenticated,
    ReadOrChange.of(read=Cap.VIEW_EVENTS, change=Cap.MANAGE_EVENTS),
]
MANAGE_ALERTS: list[type[BasePermission]] = [IsAuthenticated, HasCap.of(Cap.MANAGE_ALERTS)]


class SubscriptionList(generics.ListAPIView[Subscription]):
    """Event subscriptions (supervisors and admins read, secrets masked). POST (admins)
    creates one and answers its secret once."""

    serializer_class = SubscriptionSerializer
    permission_classes = READ_EVENTS
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Subscription]:
        return selectors.subscription_list()

    @extend_schema(
        request={"application/json": SubscriptionInput},
        responses={201: SubscriptionCreatedSerializer, **ERRORS},
        description="Create a subscription: `url`, `events`, `description`. The answer "
        "carries `secret` (whsec_...) once; it is never shown again.",
    )
    def post(self, request: Request) -> Response:
        def create(data: dict[str, Any]) -> Response:
            sub, secret = event_services.subscription_create(actor=request.user, **data)
            answer = SubscriptionCreatedSerializer(sub, context={"secret": secret}).data
            return Response(answer, status=status.HTTP_201_CREATED)

        return _apply(request, SubscriptionInput, create, event_services.SubscriptionError)


@_detail_schema
class SubscriptionDetail(_RowDetail):
    permission_classes = READ_EVENTS
    model = Subscription
    serializer = SubscriptionSerializer
    update_form = SubscriptionUpdate
    refused = event_services.SubscriptionError
    row_keyword = "subscription"
    update_service = staticmethod(event_services.subscription_update)
    delete_service = staticmethod(event_services.subscription_delete)


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    event_type = serializers.CharField(source="event.type")
    webhook_id = serializers.CharField(source="event.msg_id")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "subscription",
            "event_type",
            "webhook_id",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status",
            "last_latency_ms",
            "last_response",
            "last_error",
            "last_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryList(generics.ListAPIView[Delivery]):
    """The delivery log of one subscription: status, latency and response."""

    serializer_class = DeliverySerializer
    permission_classes = READ_EVENTS
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Delivery]:
        sub = _get(Subscription, self.kwargs["pk"])
        return selectors.delivery_list(subscription=sub)


class DeliveryRedeliver(APIView):
    permission_classes = MANAGE_EVENTS

    @extend_schema(request=None, responses={202: DeliverySerializer, **ERRORS})
    def post(self, request: Request, pk: str) -> Response:
        delivery = _get(Delivery.objects.select_related("event"), pk)
        delivery = event_services.delivery_redeliver(actor=request.user, delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


# --- alert channels, rules, alerts ------------------------------------------------------------


class ChannelSerializer(serializers.ModelSerializer[AlertChannel]):
    url = serializers.SerializerMethodField()

    class Meta:
        model = AlertChannel
        fields = [
            "id",
            "name",
            "url",
            "rules",
            "language",
            "enabled",
            "last_sent_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields

    def get_url(self, obj: AlertChannel) -> str:
        return selectors.masked_channel_url(obj)


class ChannelInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=2000)
    rules = serializers.ListField(child=serializers.ChoiceField(choices=RuleKey.choices))
    language = serializers.ChoiceField(choices=AlertChannel.Language.choices, default="en")


class ChannelUpdate(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    rules = serializers.ListField(child=serializers.ChoiceField(choices=RuleKey.choices))
    language = serializers.ChoiceField(choices=AlertChannel.Language.choices, default="en")
    enabled = serializers.BooleanField(default=True)


class ChannelList(generics.ListAPIView[AlertChannel]):
    """Alert channels (Apprise URLs, masked). POST adds one."""

    serializer_class = ChannelSerializer
    permission_classes = MANAGE_ALERTS
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[AlertChannel]:
        return selectors.alert_channel_list()

    @extend_schema(
        request={"application/json": ChannelInput}, responses={201: ChannelSerializer, **ERRORS}
    )
    def post(self, request: Request) -> Response:
        def create(data: dict[str, Any]) -> Response:
            channel = alert_services.alert_channel_create(actor=request.user, **data)
            return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

        return _apply(request, ChannelInput, create, alert_services.AlertError)


@_detail_schema
class ChannelDetail(_RowDetail):
    permission_classes = MANAGE_ALERTS
    model = AlertChannel
    serializer = ChannelSerializer
    update_form = ChannelUpdate
    refused = alert_services.AlertError
    row_keyword = "channel"
    update_service = staticmethod(alert_services.alert_channel_update)
    delete_service = staticmethod(alert_services.alert_channel_delete)


TEST_RESULT = inline_serializer(
    "ChannelTestResult", fields={"ok": serializers.BooleanField(), "error": serializers.CharField()}
)


class ChannelTest(APIView):
    permission_classes = MANAGE_ALERTS

    @extend_schema(request=None, responses={200: TEST_RESULT, **ERRORS})
    def post(self, request: Request, pk: str) -> Response:
        channel = _get(AlertChannel, pk)
        ok, error = alert_services.alert_channel_test(actor=request.user, channel=channel)
        return Response({"ok": ok, "error": error})


class RuleSerializer(serializers.ModelSerializer[AlertRule]):
    key_display = serializers.CharField(source="get_key_display", read_only=True)

    class Meta:
        model = AlertRule
        fields = [
            "key",
            "key_display",
            "enabled",
            "threshold",
            "window_minutes",
            "agent_account",
            "quiet_minutes",
        ]
        read_only_fields = ["key", "key_display"]


class RuleList(generics.ListAPIView[AlertRule]):
    """The alert rules with their settings (defaults until changed)."""

    serializer_class = RuleSerializer
    permission_classes = MANAGE_ALERTS
    pagination_class = None

    def get_queryset(self) -> Any:
        return alert_services.alert_rules_ensure()


class RuleDetail(APIView):
    permission_classes = MANAGE_ALERTS

    @extend_schema(responses={200: RuleSerializer, **ERRORS})
    def get(self, request: Request, key: str) -> Response:
        if key not in RuleKey.values:
            return Response({"detail": "No such rule.", "code": 404}, status=404)
        return Response(RuleSerializer(alert_services.alert_rule_get(key)).data)

    @extend_schema(
        request={"application/json": RuleSerializer}, responses={200: RuleSerializer, **ERRORS}
    )
    def put(self, request: Request, key: str) -> Response:
        if key not in RuleKey.values:
            return Response({"detail": "No such rule.", "code": 404}, status=404)

        def update(d: dict[str, Any]) -> Response:
            rule = alert_services.alert_rule_update(
                actor=request.user,
                key=key,
                enabled=d.get("enabled", True),
                threshold=d.get("threshold", 0),
                window_minutes=d.get("window_minutes", 0),
                quiet_minutes=d.get("quiet_minutes", 30),
                agent_account=d.get("agent_account", ""),
            )
            return Response(RuleSerializer(rule).data)

        return _apply(request, RuleSerializer, update, alert_services.AlertError)


class AlertSerializer(serializers.ModelSerializer[Alert]):
    title = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "scope",
            "title",
            "count",
            "numbers",
            "link",
            "first_at",
            "last_at",
            "notified_at",
            "messages_sent",
            "acknowledged_at",
        ]
        read_only_fields = fields

    def get_title(self, obj: Alert) -> str:
        return alert_services.alert_title(obj)


class AlertList(generics.ListAPIView[Alert]):
    """Alerts, newest first."""

    serializer_class = AlertSerializer
    permission_classes = MANAGE_ALERTS
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Alert]:
        return selectors.alert_list()


class AlertAcknowledge(APIView):
    permission_classes = MANAGE_ALERTS

    @extend_schema(request=None, responses={200: AlertSerializer, **ERRORS})
    def post(self, request: Request, pk: str) -> Response:
        alert = _get(Alert, pk)
        alert = alert_services.alert_acknowledge(actor=request.user, alert=alert)
        return Response(AlertSerializer(alert).data)
