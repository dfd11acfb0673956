"""JSON API routes of the qrlogin app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from qrlogin import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("ports/", apis.CloudPortList.as_view(), name="api-ports"),
    path("scan-tasks/", apis.ScanTaskList.as_view(), name="api-scan-tasks"),
    path("scan-tasks/<str:pk>/", apis.ScanTaskDetail.as_view(), name="api-scan-task"),
    path("qr-sessions/", apis.QrSessionListCreate.as_view(), name="api-qr-sessions"),
    # <str:pk>: a malformed id is answered by the API (a JSON 404), not the HTML resolver.
    path("qr-sessions/<str:pk>/", apis.QrSessionDetail.as_view(), name="api-qr-session"),
    path("qr-sessions/<str:pk>/retry/", apis.QrSessionRetry.as_view(), name="api-qr-session-retry"),
]
