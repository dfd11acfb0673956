"""HTML pages (and, for webhooks, the receivers) of the qrlogin app."""

from django.urls import URLPattern, URLResolver

app_name = "qrlogin"
urlpatterns: list[URLPattern | URLResolver] = []
