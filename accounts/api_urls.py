"""JSON API routes of the accounts app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from accounts import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/", apis.AccountList.as_view(), name="api-accounts"),
    path("accounts/<str:whatsapp>/", apis.AccountDetail.as_view(), name="api-account"),
    path("agents/", apis.AgentList.as_view(), name="api-agents"),
    path("registrations/", apis.RegistrationList.as_view(), name="api-registrations"),
    path("imports/", apis.ImportCreate.as_view(), name="api-imports"),
    path("imports/<str:pk>/", apis.ImportDetail.as_view(), name="api-import"),
    path("jobs/", apis.JobCreate.as_view(), name="api-jobs"),
    path("jobs/<str:pk>/", apis.JobDetail.as_view(), name="api-job"),
]
