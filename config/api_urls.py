"""The JSON API (/api/v1/): each app contributes its routes in apis.py as `urlpatterns`."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
]
