"""JSON API routes of the accounts app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from accounts import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/", apis.AccountList.as_view(), name="api-accounts"),
    path("accounts/<str:whatsapp>/", apis.AccountDetail.as_view(), name="api-account"),
    path(
        "accounts/<str:whatsapp>/profile/",
        apis.AccountProfile.as_view(),
        name="api-account-profile",
    ),
    path(
        "accounts/<str:whatsapp>/contact-lookups/",
        apis.AccountContactLookups.as_view(),
        name="api-account-contact-lookups",
    ),
    path("profile-updates/", apis.ProfileUpdates.as_view(), name="api-profile-updates"),
    path("agents/", apis.AgentList.as_view(), name="api-agents"),
    path("registrations/", apis.RegistrationList.as_view(), name="api-registrations"),
    path("registrations/<str:pk>/", apis.RegistrationDetail.as_view(), name="api-registration"),
    path(
        "registrations/<str:pk>/code/",
        apis.RegistrationCode.as_view(),
        name="api-registration-code",
    ),
    path("imports/", apis.ImportCreate.as_view(), name="api-imports"),
    path("imports/<str:pk>/", apis.ImportDetail.as_view(), name="api-import"),
    path("jobs/", apis.JobCreate.as_view(), name="api-jobs"),
    path("jobs/<str:pk>/", apis.JobDetail.as_view(), name="api-job"),
]
