"""JSON API of the qrlogin app: cloud ports (with the quota), PC scan tasks and QR /
pair-code login sessions (`POST /api/v1/qr-sessions/`, `GET /api/v1/qr-sessions/{id}/`),
which call the same services as the pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from core.access import HasCap
from core.api import ChoiceDisplayField, ErrorSerializer, Pagination, error, invalid
from core.roles import Cap
from ports.models import CloudPort, PortStatus
from ports.services import port_unavailable_reason
from qrlogin import selectors
from qrlogin.errors import explain
from qrlogin.forms import StartForm
from qrlogin.models import AllocationRole, PcType, QrSession, ScanTask, ScanTaskStatus
from qrlogin.services import pair_targets, scan_tasks, sessions
from upstream.errors import UpstreamError, UpstreamProblem


class CloudPortSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    status_display = ChoiceDisplayField("status", PortStatus)
    created_at = serializers.DateTimeField(
        source="created_at_upstream", read_only=True, allow_null=True
    )

    pregenerate_id = serializers.CharField(
        source="call_id",
        read_only=True,
        default="",
        help_text="The id preGenerate issued (what the port operations take); empty when the "
        "port was not logged in through Switchboard.",
    )

    operations_unavailable = serializers.SerializerMethodField(
        help_text="Why onLine, offline and logOut cannot be sent for this port (UPSTREAM_PORT_ID); "
        "empty when they can."
    )

    def get_operations_unavailable(self, port: CloudPort) -> str:
        return port_unavailable_reason(port=port)

    class Meta:
        model = CloudPort
        fields = [
            "port_id",
            "pregenerate_id",
            "operations_unavailable",
            "phone",
            "status",
            "status_display",
            "created_at",
            "locked_until",
        ]
        read_only_fields = fields


class QuotaSerializer(serializers.Serializer):  # type: ignore[type-arg]
    current_port = serializers.IntegerField()
    max_port = serializers.IntegerField()
    over_quota = serializers.IntegerField(help_text="current_port - max_port when positive")
    fetched_at = serializers.DateTimeField(allow_null=True)


def quota_payload() -> dict[str, Any] | None:
    quota = selectors.port_quota_get()
    if quota is None:
        return None
    return {
        "current_port": quota.current_port,
        "max_port": quota.max_port,
        "over_quota": max(0, quota.current_port - quota.max_port),
        "fetched_at": quota.fetched_at,
    }


class PortPagination(Pagination):
    """The usual page (`count`, `next`, `previous`, `results`) plus the port `quota`
    (null until it has been fetched)."""

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        quota = quota_payload()
        response.data["quota"] = QuotaSerializer(quota).data if quota else None
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        out = super().get_paginated_response_schema(schema)
        out["properties"]["quota"] = {
            "type": "object",
            "nullable": True,
            "properties": {
                "current_port": {"type": "integer"},
                "max_port": {"type": "integer"},
                "over_quota": {"type": "integer"},
                "fetched_at": {"type": "string", "format": "date-time", "nullable": True},
            },
        }
        return out


class CloudPortList(generics.ListAPIView):  # type: ignore[type-arg]
    """Occupied cloud ports (ids are strings: they exceed 2^53), oldest first, with the
    quota (`current_port` of `max_port`). Supervisors and admins."""

    serializer_class = CloudPortSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.MANAGE_PORTS)]
    pagination_class = PortPagination

    def get_queryset(self) -> QuerySet[CloudPort]:
        return selectors.cloud_port_list()


class ScanTaskSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    allocation_role_display = ChoiceDisplayField("allocation_role", AllocationRole)
    status_display = ChoiceDisplayField("status", ScanTaskStatus)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default="")
    qr = serializers.SerializerMethodField(
        help_text="The task's QR string to draw; empty once the phone has scanned or while it "
        "cannot be fetched (see qr_error). GET of one task fetches a fresh one."
    )

    class Meta:
        model = ScanTask
        fields = [
            "id",
            "task_id",
            "allocation_role",
            "allocation_role_display",
            "upstream_user_id",
            "status",
            "status_display",
            "status_updated_at",
            "whatsapp",
            "qr",
            "qr_error",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_qr(self, obj: ScanTask) -> str:
        return "" if obj.is_scanned or obj.is_final else obj.qr_string


class ScanTaskInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """As on the tasks page: supervisors choose; an agent's task is always theirs."""

    allocation_role = serializers.ChoiceField(
        choices=AllocationRole.choices,
        default=AllocationRole.SPECIFIED,
        help_text="Which agent gets the account: random, or the specified one",
    )
    user_id = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="specified: the agent's upstream user id (agents: leave it out)",
    )


def _object_id(pk: Any) -> int:
    text = str(pk)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise NotFound
    return int(text)


class ScanTaskList(generics.ListAPIView):  # type: ignore[type-arg]
    """PC scan tasks, newest first. Agents see their own; supervisors and admins all.
    POST creates one (qrCodeTask/create) and fetches its first QR string, as the tasks page
    does."""

    serializer_class = ScanTaskSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.QR_LOGIN)]
    pagination_class = Pagination
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[ScanTask]:
        return selectors.scan_task_list(user=self.request.user)

    @extend_schema(
        request=ScanTaskInputSerializer,
        responses={
            201: ScanTaskSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="Invalid input, or a task this user may not create"
            ),
            409: OpenApiResponse(ErrorSerializer, description="The vendor refused the task"),
            503: OpenApiResponse(ErrorSerializer, description="The vendor did not answer"),
        },
    )
    def post(self, request: Request) -> Response:
        form = ScanTaskInputSerializer(data=request.data)
        if not form.is_valid():
            return invalid(form.errors)
        try:
            task = scan_tasks.scan_task_create(
                actor=request.user,
                allocation_role=int(form.validated_data["allocation_role"]),
                user_id=form.validated_data["user_id"],
            )
        except scan_tasks.ScanTaskRefused as exc:
            return _error(400, str(exc))
        except UpstreamProblem as exc:
            why = explain(exc)[1]
            return _error(409 if isinstance(exc, UpstreamError) else 503, why)
        return Response(ScanTaskSerializer(task).data, status=201)


class ScanTaskDetail(generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One scan task (agents: their own), with a fresh QR string until the phone scans."""

    serializer_class = ScanTaskSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.QR_LOGIN)]

    @extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = selectors.scan_task_get(user=request.user, pk=_object_id(kwargs["pk"]))
        scan_tasks.scan_task_refresh_code(task=task)
        return Response(ScanTaskSerializer(task).data)


# --- QR / pair-code login sessions ---------------------------------------------------------


class ApiState:
    """What a client sees of a session's state (the page's "starting" and "showing" are
    both "waiting"). "cancelled" is reserved: no operation cancels a session yet."""

    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CHOICES = [WAITING, SUCCEEDED, FAILED, EXPIRED, CANCELLED]

    @classmethod
    def of(cls, session: QrSession) -> str:
        if session.state in (QrSession.State.STARTING, QrSession.State.SHOWING):
            return cls.WAITING
        return str(session.state)


class QrSessionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    state = serializers.SerializerMethodField()
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    platform = serializers.IntegerField(
        source="pc_type", read_only=True, help_text="1 PC, 2 cloud PC"
    )
    platform_display = ChoiceDisplayField("pc_type", PcType)
    pair_style = serializers.CharField(source="is_easy", read_only=True)
    qr = serializers.SerializerMethodField(
        help_text="The QR string to draw (the vendor's, exactly); empty once the session ended "
        "or while it cannot be refreshed (see qr_error). GET fetches a fresh one."
    )
    expires_at = serializers.DateTimeField(
        source="locked_until",
        read_only=True,
        allow_null=True,
        help_text="When the port's 10-minute lock ends (the session expires then).",
    )
    has_proxy = serializers.BooleanField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default="")

    class Meta:
        model = QrSession
        fields = [
            "id",
            "state",
            "state_display",
            "mode",
            "platform",
            "platform_display",
            "target",
            "phone",
            "pair_style",
            "has_proxy",
            "port_id",
            "qr",
            "qr_error",
            "pair_code",
            "expires_at",
            "whatsapp",
            "user_name",
            "reason_code",
            "reason",
            "retry_of",
            "created_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=ApiState.CHOICES))
    def get_state(self, obj: QrSession) -> str:
        return ApiState.of(obj)

    @extend_schema_field(OpenApiTypes.STR)
    def get_qr(self, obj: QrSession) -> str:
        return "" if obj.is_final else obj.qr_string


class QrSessionInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The documented input; validation is the start page's (qrlogin.forms.StartForm)."""

    mode = serializers.ChoiceField(choices=QrSession.Mode.values, default=QrSession.Mode.QR)
    platform = serializers.ChoiceField(choices=PcType.values, help_text="1 PC, 2 cloud PC")
    target = serializers.CharField(
        required=False, allow_blank=True, help_text="A pairing target id (selectPairTarget)"
    )
    proxy = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="SOCKS5 ip:port:user:pass; stored encrypted, never returned",
    )
    phone = serializers.CharField(
        required=False, allow_blank=True, help_text="pair mode: the phone's number, 6-20 digits"
    )
    pair_style = serializers.ChoiceField(
        choices=["n", "y", "b"],
        required=False,
        allow_blank=True,
        help_text="pair mode: n native, y easy (PPPP-1111), b fixed eights",
    )


class ApiErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    detail = serializers.CharField()
    code = serializers.IntegerField(help_text="the HTTP status again")


class ApiFieldErrorSerializer(ApiErrorSerializer):
    errors = serializers.DictField(  # type: ignore[assignment]  # the answer's key
        child=serializers.ListField(child=serializers.CharField()),
        help_text="per input field: what is wrong with it",
    )


class VendorRefusalSerializer(ApiErrorSerializer):
    id = serializers.IntegerField(help_text="the failed session (kept, with its reason)")
    vendor_code = serializers.CharField(help_text="the QR family's code, e.g. 1001 quota used up")


class VendorUnavailableSerializer(ApiErrorSerializer):
    id = serializers.IntegerField(help_text="the failed session (kept, with its reason)")


def _error(status: int, detail: Any, **extra: Any) -> Response:
    return Response({"detail": str(detail), "code": status, **extra}, status=status)


COMMON_ERRORS: dict[int, Any] = {
    403: OpenApiResponse(ApiErrorSerializer, description="Not signed in, or no QR login right"),
    404: OpenApiResponse(
        ApiErrorSerializer, description="No such session, or another agent's session"
    ),
}

# The start form's field names in the API's words.
API_FIELDS = {"pc_type": "platform", "is_easy": "pair_style", "__all__": "non_field_errors"}


def _started(session: QrSession) -> Response:
    """A start's answer: 201 with the session once a port is locked; else the vendor's
    refusal (409, with its code) or silence (503), the failed session kept."""
    if not session.port_id:
        if session.reason_code:
            return _error(409, session.reason, id=session.pk, vendor_code=session.reason_code)
        return _error(503, session.reason, id=session.pk)
    return Response(QrSessionSerializer(session).data, status=201)


class QrSessionStartThrottle(UserRateThrottle):
    """Each start locks a vendor port for 10 minutes: at most QRLOGIN_API_START_RATE
    (default 20/min) per user."""

    scope = "qr_session_start"

    def get_rate(self) -> str:
        return str(settings.QRLOGIN_API_START_RATE)


class QrSessionListCreate(generics.ListAPIView):  # type: ignore[type-arg]
    """QR or pair-code logins, newest first (agents: their own). POST starts one: it locks
    a port (preGenerate) and fetches the first code, exactly as the start page does."""

    serializer_class = QrSessionSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.QR_LOGIN)]
    pagination_class = Pagination
    parser_classes = [JSONParser]

    def get_queryset(self) -> QuerySet[QrSession]:
        return selectors.qr_session_list(user=self.request.user)

    def get_throttles(self) -> list[Any]:
        return [QrSessionStartThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        request=QrSessionInputSerializer,
        responses={
            201: QrSessionSerializer,
            400: OpenApiResponse(ApiFieldErrorSerializer, description="Invalid input"),
            403: COMMON_ERRORS[403],
            409: OpenApiResponse(
                VendorRefusalSerializer,
                description="The vendor refused to lock a port (1001 quota used up, "
                "1003 unsupported type, 1004 no pairing target)",
            ),
            429: OpenApiResponse(
                ApiErrorSerializer,
                description="Too many starts, or too many sessions open (QR_SESSIONS_MAX_OPEN "
                "per agent); retry later",
            ),
            503: OpenApiResponse(
                VendorUnavailableSerializer, description="The vendor did not answer"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            return _error(400, "Send a JSON object.", errors={})
        wrong = {
            name: ["Must be a single value."]
            for name in ("mode", "platform", "target", "proxy", "phone", "pair_style")
            if isinstance(data.get(name), (dict, list))
        }
        if wrong:
            return _error(400, "The input is not valid.", errors=wrong)
        targets_error = pair_targets.pair_targets_ensure_fresh()
        form = StartForm(
            {
                "pc_type": _text(data.get("platform")),
                "target": _text(data.get("target")),
                "mode": _text(data.get("mode")) or QrSession.Mode.QR,
                "phone": _text(data.get("phone")),
                "is_easy": _text(data.get("pair_style")),
                "proxy": _text(data.get("proxy")),
            },
            targets=selectors.pair_target_choices(),
        )
        if not form.is_valid():
            errors = {
                API_FIELDS.get(name, name): [str(e) for e in errs]
                for name, errs in form.errors.items()
            }
            if "target" in errors and targets_error:
                errors["target"].append(targets_error)
            return _error(400, "The input is not valid.", errors=errors)
        try:
            session = sessions.qr_session_start(user=request.user, **form.cleaned_data)
        except sessions.TooManyOpen as exc:
            return error(429, exc)
        return _started(session)


class QrSessionDetail(generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One session. While it waits in QR mode, the answer carries a fresh QR string (the
    vendor's codes change every ~20 s: ask about every 15 s); once it succeeded, the
    number and the agent's name."""

    serializer_class = QrSessionSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.QR_LOGIN)]

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={200: QrSessionSerializer, **COMMON_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pk = str(kwargs["pk"])
        if not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
            raise NotFound
        session = selectors.qr_session_get(user=request.user, pk=int(pk))
        sessions.qr_session_read(session=session)
        return Response(QrSessionSerializer(session).data)


class QrSessionRetry(generics.GenericAPIView):  # type: ignore[type-arg]
    """Start again from a finished session (same mode, platform, target, phone), as the
    session page's "try again" does: 201 with the new session."""

    serializer_class = QrSessionSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.QR_LOGIN)]

    def get_throttles(self) -> list[Any]:
        return [QrSessionStartThrottle()]

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={
            201: QrSessionSerializer,
            409: OpenApiResponse(
                VendorRefusalSerializer, description="The vendor refused to lock a port"
            ),
            429: OpenApiResponse(ApiErrorSerializer, description="Too many starts or sessions"),
            503: OpenApiResponse(
                VendorUnavailableSerializer, description="The vendor did not answer"
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        old = selectors.qr_session_get(user=request.user, pk=_object_id(pk))
        try:
            session = sessions.qr_session_retry(session=old, user=request.user)
        except sessions.TooManyOpen as exc:
            return error(429, exc)
        return _started(session)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
