"""The OpenAPI schema's AutoSchema: every operation documents its error answers.

Its own module: drf-spectacular's AutoSchema imports DRF's settings, which import
core.api (the pagination classes), so core.api cannot import it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse

from core.api import ErrorSerializer

DEFAULT_ERRORS: dict[int, str] = {
    400: "The input is not valid (a field, a query parameter or the body); "
    "fields name their own errors",
    401: "Not signed in: send `Authorization: Token <key>` (or a session)",
    403: "Signed in, but this role may not do this",
    404: "No such object, or one this user may not see (the same answer for both)",
    409: "The object's state does not allow this now",
    429: "Too many requests: retry later",
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class AutoSchema(SpectacularAutoSchema):
    """Adds the error answers every operation may give (DEFAULT_ERRORS, with the
    ErrorSerializer body) to those a view documents itself; 409 only where something
    changes. A view's own entry for a status wins."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status, description in DEFAULT_ERRORS.items():
            if status == 409 and self.method in SAFE_METHODS:
                continue
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), str(status)
                )
        return responses
