"""JSON API routes of the qrlogin app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from qrlogin import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("ports/", apis.CloudPortList.as_view(), name="api-ports"),
    path("scan-tasks/", apis.ScanTaskList.as_view(), name="api-scan-tasks"),
    path("qr-sessions/", apis.QrSessionListCreate.as_view(), name="api-qr-sessions"),
    path("qr-sessions/<int:pk>/", apis.QrSessionDetail.as_view(), name="api-qr-session"),
]
