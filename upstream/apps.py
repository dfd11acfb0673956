from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "upstream"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import upstream.gauges
        import upstream.health  # noqa: F401 - registers this app's gauges and health check
