"""The signed-in person's own API: who they are, what they may do, their time zone."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from core import grants
from core.access import can, role_of
from core.roles import Cap
from core.zones import zone_valid
from identity.services import time_zone_set

_ME = inline_serializer(
    "Me",
    {
        "username": serializers.CharField(),
        "role": serializers.CharField(allow_null=True),
        "capabilities": serializers.ListField(child=serializers.CharField()),
        "time_zone": serializers.CharField(
            help_text="The zone the console shows this user's times in; empty: the browser's."
        ),
    },
)


class MeUpdate(serializers.Serializer):  # type: ignore[type-arg]
    time_zone = serializers.CharField(allow_blank=True, max_length=64)

    def validate_time_zone(self, value: str) -> str:
        if value and not zone_valid(value):
            raise serializers.ValidationError(
                _("Unknown time zone: give an IANA name, such as Asia/Shanghai.")
            )
        return value


@extend_schema(methods=["GET"], responses=_ME)
@extend_schema(methods=["PATCH"], request=MeUpdate, responses={200: _ME, 400: OpenApiTypes.OBJECT})
@api_view(["GET", "PATCH"])
def me(request: Request) -> Response:
    """Who the token or session belongs to, and what it may do. PATCH `time_zone` sets the
    zone the console shows their times in (as the Security page does)."""
    user = request.user
    if request.method == "PATCH":
        update = MeUpdate(data=request.data)
        update.is_valid(raise_exception=True)
        time_zone_set(user=user, time_zone=update.validated_data["time_zone"])
    return Response(
        {
            "username": user.get_username(),
            "role": role_of(user),
            "capabilities": sorted(c.value for c in Cap if can(user, c)),
            "time_zone": grants.time_zone(user),
        }
    )
