"""HTML pages of the accounts console (mounted at /accounts/)."""

from django.urls import URLPattern, URLResolver, path

from accounts.views import (
    agents,
    contacts,
    detail,
    fleet,
    imports,
    jobs,
    profile,
    registration,
    status,
)

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", fleet.account_list, name="list"),
    path("bulk/online/", fleet.bulk_online, name="bulk_online"),
    path("bulk/recycle/", fleet.bulk_recycle, name="bulk_recycle"),
    path("bulk/profile/", fleet.bulk_profile, name="bulk_profile"),
    path("bulk/export/", fleet.bulk_export, name="bulk_export"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job"),
    path("jobs/<int:job_id>/export.csv", jobs.job_export, name="job_export"),
    path("jobs/<int:job_id>/retry/", jobs.job_retry, name="job_retry"),
    path("import/", imports.import_upload, name="import"),
    path("import/<int:job_id>/", imports.import_preview, name="import_preview"),
    path("register/", registration.register, name="register"),
    path("register/<int:pk>/", registration.registration_detail, name="registration"),
    path("agents/", agents.agents, name="agents"),
    path("agents/vendor/", agents.agents_vendor, name="agents_vendor"),
    path("agents/add/", agents.agent_add, name="agent_add"),
    path("logs/", status.logs, name="logs"),
    path("logs/export.csv", status.logs_export, name="logs_export"),
    path("logs/chart.json", status.logs_chart, name="logs_chart"),
    path("logs/vendor/", status.logs_vendor, name="logs_vendor"),
    path("<str:whatsapp>/", detail.account_detail, name="detail"),
    path("<str:whatsapp>/vendor/", detail.account_vendor, name="vendor"),
    path("<str:whatsapp>/timeline.json", detail.account_timeline, name="timeline"),
    path("<str:whatsapp>/action/", detail.account_action, name="action"),
    path("<str:whatsapp>/profile/", profile.account_profile_update, name="profile"),
    path("<str:whatsapp>/contacts/", contacts.account_contacts, name="contacts"),
]
