"""JSON API routes of the actions app, mounted under /api/v1/.

Ids are `<str:pk>`: a malformed id is answered by the API (a JSON 404)."""

from django.urls import URLPattern, URLResolver, path

from actions import apis

urlpatterns: list[URLPattern | URLResolver] = [
    path("actions/", apis.ActionListCreate.as_view(), name="api-actions"),
    path("actions/<str:pk>/", apis.ActionDetail.as_view(), name="api-action"),
    path("actions/<str:pk>/cancel/", apis.ActionCancel.as_view(), name="api-action-cancel"),
    path("actions/<str:pk>/resend/", apis.ActionResend.as_view(), name="api-action-resend"),
    path(
        "actions/<str:pk>/mark-failed/",
        apis.ActionMarkFailed.as_view(),
        name="api-action-mark-failed",
    ),
    path("action-batches/", apis.ActionBatchListCreate.as_view(), name="api-action-batches"),
    path("action-batches/<str:pk>/", apis.ActionBatchDetail.as_view(), name="api-action-batch"),
    path(
        "action-batches/<str:pk>/confirm/",
        apis.ActionBatchConfirm.as_view(),
        name="api-action-batch-confirm",
    ),
    path(
        "action-batches/<str:pk>/discard/",
        apis.ActionBatchDiscard.as_view(),
        name="api-action-batch-discard",
    ),
    path(
        "action-batches/<str:pk>/cancel/",
        apis.ActionBatchCancel.as_view(),
        name="api-action-batch-cancel",
    ),
    path("lanes/", apis.LaneList.as_view(), name="api-lanes"),
    path("lanes/<str:pk>/pause/", apis.LanePause.as_view(), name="api-lane-pause"),
    path("lanes/<str:pk>/resume/", apis.LaneResume.as_view(), name="api-lane-resume"),
]
