"""Pages of the notify app (mounted at /notify/)."""

from django.urls import URLPattern, URLResolver, path

from notify import views

app_name = "notify"
urlpatterns: list[URLPattern | URLResolver] = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/ack/", views.alert_ack, name="alert_ack"),
    path("channels/", views.channels, name="channels"),
    path("channels/<int:pk>/", views.channel, name="channel"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("channels/<int:pk>/delete/", views.channel_delete, name="channel_delete"),
    path("rules/", views.rules, name="rules"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions/<int:pk>/", views.subscription, name="subscription"),
    path("subscriptions/<int:pk>/delete/", views.subscription_delete, name="subscription_delete"),
    path("deliveries/<int:pk>/redeliver/", views.redeliver, name="redeliver"),
]
