from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "notify"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Alerts and outgoing events")

    def ready(self) -> None:
        from core import outbound
        from core.context_processors import register_nav_badge
        from notify.selectors import open_alert_count

        outbound.install()
        register_nav_badge("notify:alerts", open_alert_count)  # the open alerts
