from django.apps import AppConfig


class QrloginConfig(AppConfig):
    name = "qrlogin"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import qrlogin.gauges  # noqa: F401 - registers this app's /metrics gauges
