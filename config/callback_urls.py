"""The URLconf of the vendor's callbacks (config/callbacks.py): the receivers alone, at the
vendor's paths and under /hooks/<path token>/, with a 404 and a 500 in their JSON."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from webhooks import receivers
from webhooks.authconfig import PATH_TOKEN_PREFIX

urlpatterns: list[URLPattern | URLResolver] = [
    *[path(receivers.PATHS[kind], view) for kind, view in receivers.VIEWS.items()],
    *[
        path(f"{PATH_TOKEN_PREFIX}/<str:path_token>/{receivers.PATHS[kind]}", view)
        for kind, view in receivers.VIEWS.items()
    ],
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return receivers.answer(404, "Not Found")


def server_error(request: HttpRequest) -> HttpResponse:
    return receivers.answer(500, "Internal error, retry later")


handler404 = not_found
handler500 = server_error
