"""JSON API routes of the notify app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from notify import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("event-subscriptions/", apis.SubscriptionList.as_view(), name="api-event-subscriptions"),
    path(
        "event-subscriptions/<str:pk>/",
        apis.SubscriptionDetail.as_view(),
        name="api-event-subscription",
    ),
    path(
        "event-subscriptions/<str:pk>/deliveries/",
        apis.DeliveryList.as_view(),
        name="api-event-deliveries",
    ),
    path(
        "event-deliveries/<str:pk>/redeliver/",
        apis.DeliveryRedeliver.as_view(),
        name="api-event-delivery-redeliver",
    ),
    path("alert-channels/", apis.ChannelList.as_view(), name="api-alert-channels"),
    path("alert-channels/<str:pk>/", apis.ChannelDetail.as_view(), name="api-alert-channel"),
    path(
        "alert-channels/<str:pk>/test/", apis.ChannelTest.as_view(), name="api-alert-channel-test"
    ),
    path("alert-rules/", apis.RuleList.as_view(), name="api-alert-rules"),
    path("alert-rules/<str:key>/", apis.RuleDetail.as_view(), name="api-alert-rule"),
    path("alerts/", apis.AlertList.as_view(), name="api-alerts"),
    path("alerts/<str:pk>/acknowledge/", apis.AlertAcknowledge.as_view(), name="api-alert-ack"),
]
