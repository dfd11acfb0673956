"""HTML pages of the qrlogin app, mounted at /qr/."""

from django.urls import URLPattern, URLResolver, path

from qrlogin import views

app_name = "qrlogin"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.start, name="start"),
    path("s/<int:pk>/", views.session_page, name="session"),
    path("s/<int:pk>/code/", views.session_code, name="session_code"),
    path("s/<int:pk>/status/", views.session_status, name="session_status"),
    path("s/<int:pk>/retry/", views.session_retry, name="session_retry"),
    path("ports/", views.ports_page, name="ports"),
    path("ports/table/", views.ports_table, name="ports_table"),
    path("ports/refresh/", views.ports_refresh, name="ports_refresh"),
    path("ports/<str:port_id>/<str:operation>/", views.port_operate, name="port_operate"),
    path("tasks/", views.tasks_page, name="tasks"),
    path("tasks/<int:pk>/", views.task_page, name="task"),
    path("tasks/<int:pk>/code/", views.task_code, name="task_code"),
    path("tasks/<int:pk>/status/", views.task_status, name="task_status"),
]
