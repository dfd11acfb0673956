"""The JSON API (/api/v1/): each app contributes its routes in its api_urls.py."""

from django.urls import include, path

from core.apis import me

urlpatterns = [
    path("me/", me, name="api-me"),
    path("", include("accounts.api_urls")),
    path("", include("qrlogin.api_urls")),
    path("", include("actions.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("notify.api_urls")),
]
