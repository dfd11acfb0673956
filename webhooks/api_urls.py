"""JSON API routes of the webhooks app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from webhooks import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("webhook-events/", apis.WebhookEventList.as_view(), name="webhook-event-list"),
    path("webhook-quarantine/", apis.RefusedDeliveryList.as_view(), name="webhook-quarantine-list"),
    path(
        "webhook-quarantine/<str:pk>/accept/",
        apis.RefusedDeliveryAccept.as_view(),
        name="api-webhook-quarantine-accept",
    ),
    path("webhook-events/<str:pk>/", apis.WebhookEventDetail.as_view(), name="api-webhook-event"),
    path(
        "webhook-events/<str:pk>/replay/",
        apis.WebhookEventReplay.as_view(),
        name="api-webhook-event-replay",
    ),
    path("status-events/", apis.StatusEventList.as_view(), name="status-event-list"),
]
