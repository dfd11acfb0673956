"""JSON API routes of the actions app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from actions import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("actions/", apis.ActionListCreate.as_view(), name="api-actions"),
    path("actions/<int:pk>/", apis.ActionDetail.as_view(), name="api-action"),
    path("actions/<int:pk>/cancel/", apis.ActionCancel.as_view(), name="api-action-cancel"),
]
