"""The receivers at the vendor's absolute paths (and under /hooks/<path token>/ for
WEBHOOK_AUTH=path-token), and the inbox pages under /webhooks/.

Included at the site root (config/urls.py)."""

from django.urls import URLPattern, URLResolver, path

from webhooks import receivers, views
from webhooks.authconfig import PATH_TOKEN_PREFIX

app_name = "webhooks"
urlpatterns: list[URLPattern | URLResolver] = [
    *[
        path(receivers.PATHS[kind], view, name=f"receive-{kind.replace('_', '-')}")
        for kind, view in receivers.VIEWS.items()
    ],
    *[
        path(
            f"{PATH_TOKEN_PREFIX}/<str:path_token>/{receivers.PATHS[kind]}",
            view,
            name=f"receive-token-{kind.replace('_', '-')}",
        )
        for kind, view in receivers.VIEWS.items()
    ],
    path("webhooks/", views.inbox, name="inbox"),
    path("webhooks/refused/<int:delivery_id>/", views.refused_detail, name="refused-detail"),
    path(
        "webhooks/refused/<int:delivery_id>/accept/",
        views.refused_accept,
        name="refused-accept",
    ),
    path("webhooks/lag/", views.lag, name="lag"),
    path("webhooks/counts.json", views.counts, name="counts"),
    path("webhooks/<int:event_id>/", views.detail, name="detail"),
    path("webhooks/<int:event_id>/replay/", views.replay, name="replay"),
    path("webhooks/vendor/", views.vendor_connection, name="vendor"),
]
