"""JSON API of the qrlogin app: cloud ports (with the quota) and PC scan tasks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.access import HasCap
from core.api import ChoiceDisplayField, Pagination
from core.roles import Cap
from qrlogin import selectors
from qrlogin.models import AllocationRole, CloudPort, PortStatus, ScanTask, ScanTaskStatus


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
