"""HTML pages of the accounts console (mounted at /accounts/)."""

from django.urls import URLPattern, URLResolver, path

from accounts import views

app_name = "accounts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.account_list, name="list"),
    path("bulk/", views.account_bulk, name="bulk"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("jobs/<int:job_id>/export.csv", views.job_export, name="job_export"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job_retry"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:job_id>/", views.import_preview, name="import_preview"),
    path("register/", views.register, name="register"),
    path("register/<int:pk>/", views.registration_detail, name="registration"),
    path("agents/", views.agents, name="agents"),
    path("agents/vendor/", views.agents_vendor, name="agents_vendor"),
    path("agents/add/", views.agent_add, name="agent_add"),
    path("logs/", views.logs, name="logs"),
    path("logs/export.csv", views.logs_export, name="logs_export"),
    path("logs/chart.json", views.logs_chart, name="logs_chart"),
    path("logs/vendor/", views.logs_vendor, name="logs_vendor"),
    path("<str:whatsapp>/", views.account_detail, name="detail"),
    path("<str:whatsapp>/vendor/", views.account_vendor, name="vendor"),
    path("<str:whatsapp>/timeline.json", views.account_timeline, name="timeline"),
    path("<str:whatsapp>/action/", views.account_action, name="action"),
    path("<str:whatsapp>/profile/", views.account_profile_update, name="profile"),
    path("<str:whatsapp>/contacts/", views.account_contacts, name="contacts"),
]
