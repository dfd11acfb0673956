from django.contrib.auth import views as auth_views
from django.urls import path

from core import audit_views, live_views, metrics_views, token_views, views

urlpatterns = [
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    path("healthz", views.readyz, name="healthz"),  # the first probe's path, kept
    path("health/", views.health_page, name="health"),
    path("live/", live_views.stream, name="live"),
    path("csp-report/", views.csp_report, name="csp-report"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("audit/", audit_views.audit_log, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit-export"),
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/new/", token_views.token_create, name="token-create"),
    path("tokens/revoke/", token_views.token_revoke, name="token-revoke"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
