"""HTML pages (and, for webhooks, the receivers) of the actions app."""

from django.urls import URLPattern, URLResolver

app_name = "actions"
urlpatterns: list[URLPattern | URLResolver] = []
