from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("WhatsApp accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import accounts.gauges  # noqa: F401 - registers this app's /metrics gauges
        from accounts.live import register

        register()  # what the live stream says when its rows change (core.live)
