from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`make demo`: the runner, the demo fleet and its seeded week of history."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
