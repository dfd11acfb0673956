"""API views of no app in particular: who am I, and the JSON 404 of the API's paths."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from core.access import can, role_of
from core.roles import Cap


@extend_schema(
    responses=inline_serializer(
        "Me",
        {
            "username": serializers.CharField(),
            "role": serializers.CharField(allow_null=True),
            "capabilities": serializers.ListField(child=serializers.CharField()),
        },
    )
)
@api_view(["GET"])
def me(request: Request) -> Response:
    """Who the token or session belongs to, and what it may do."""
    user = request.user
    return Response(
        {
            "username": user.get_username(),
            "role": role_of(user),
            "capabilities": sorted(c.value for c in Cap if can(user, c)),
        }
    )


@csrf_exempt  # it changes nothing; a POST gets the same JSON 404, not the CSRF page
def not_found(request: HttpRequest) -> JsonResponse:
    """Any /api/v1/ path that names nothing: a JSON 404 (the site's 404 is an HTML page),
    the same for everyone, signed in or not."""
    return JsonResponse({"detail": "Not found.", "code": 404}, status=404)
