from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Alerts and outgoing events"

    def ready(self) -> None:
        from core import outbound

        outbound.install()
