"""HTML pages (and, for webhooks, the receivers) of the accounts app."""

from django.urls import URLPattern, URLResolver

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = []
