"""HTML pages of the actions app, mounted at /actions/."""

from django.urls import URLPattern, URLResolver, path

from actions import views

app_name = "actions"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.action_list, name="list"),
    path("export.csv", views.action_export, name="export"),
    path("new/", views.action_new, name="new"),
    path("upload/", views.action_upload, name="upload"),
    path("<int:pk>/", views.action_detail, name="detail"),
    path("<int:pk>/cancel/", views.action_cancel, name="cancel"),
    path("<int:pk>/resend/", views.action_resend, name="resend"),
    path("<int:pk>/mark-failed/", views.action_mark_failed, name="mark_failed"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/confirm/", views.batch_confirm, name="batch_confirm"),
    path("batches/<int:pk>/discard/", views.batch_discard, name="batch_discard"),
    path("batches/<int:pk>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("lanes/", views.lane_list, name="lanes"),
    path("lanes/<int:pk>/pause/", views.lane_pause, name="lane_pause"),
    path("lanes/<int:pk>/resume/", views.lane_resume, name="lane_resume"),
]
