"""API views of no app in particular: the JSON 404 of the API's paths."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # it changes nothing; a POST gets the same JSON 404, not the CSRF page
def not_found(request: HttpRequest) -> JsonResponse:
    """Any /api/v1/ path that names nothing: a JSON 404 (the site's 404 is an HTML page),
    the same for everyone, signed in or not."""
    return JsonResponse({"detail": "Not found.", "code": 404}, status=404)
