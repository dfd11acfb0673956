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
from core.api import ChoiceDisplayField, Pagination
from core.roles import Cap
from qrlogin import selectors
from qrlogin.forms import StartForm
from qrlogin.models import (
    AllocationRole,
    CloudPort,
    PcType,
    PortStatus,
    QrSession,
    ScanTask,
    ScanTaskStatus,
)
from qrlogin.services import pair_targets, sessions


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

    class Meta:
        model = CloudPort
        fields = [
            "port_id",
            "pregenerate_id",
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

    class Meta:
        model = ScanTask
        fields = [
            "task_id",
            "allocation_role",
            "allocation_role_display",
            "upstream_user_id",
            "status",
            "status_display",
            "status_updated_at",
            "whatsapp",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ScanTaskList(generics.ListAPIView):  # type: ignore[type-arg]
    """PC scan tasks, newest first. Agents see their own; supervisors and admins all."""

    serializer_class = ScanTaskSerializer
    permission_classes = [IsAuthenticated, HasCap.of(Cap.QR_LOGIN)]
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[ScanTask]:
        return selectors.scan_task_list(user=self.request.user)


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
        cleaned = form.cleaned_data
        try:
            session = sessions.qr_session_start(
                user=request.user,
                pc_type=cleaned["pc_type"],
                target=cleaned["target"],
                mode=cleaned["mode"],
                phone=cleaned["phone"],
                is_easy=cleaned["is_easy"],
                proxy=cleaned["proxy"],
            )
        except sessions.TooManyOpen as exc:
            return _error(429, str(exc))
        if not session.port_id:
            if session.reason_code:
                return _error(409, session.reason, id=session.pk, vendor_code=session.reason_code)
            return _error(503, session.reason, id=session.pk)
        return Response(QrSessionSerializer(session).data, status=201)


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
        sessions.qr_session_expire_if_due(session=session)
        if session.state == QrSession.State.SUCCEEDED:
            sessions.qr_session_fetch_info(session=session)
        elif not session.is_final and session.mode == QrSession.Mode.QR:
            sessions.qr_session_refresh_code(session=session)
        return Response(QrSessionSerializer(session).data)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
