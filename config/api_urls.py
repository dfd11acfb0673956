"""The JSON API (/api/v1/): each app contributes its routes in its api_urls.py."""

from django.urls import include, path, re_path

from core.apis import not_found
from identity.apis import me

urlpatterns = [
    path("me/", me, name="api-me"),
    path("", include("accounts.api_urls")),
    path("", include("qrlogin.api_urls")),
    path("", include("actions.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("notify.api_urls")),
    # Last: a path ending in "/" that names nothing answers JSON, not the site's HTML 404
    # (without the slash, CommonMiddleware first redirects to it).
    re_path(r"^(?:.*/)?$", not_found, name="api-not-found"),
]
