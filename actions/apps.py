from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = _("Open-chat actions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import actions.gauges  # noqa: F401 - registers this app's /metrics gauges
        from actions.live import register

        register()  # what the live stream says when its rows change (core.live)
