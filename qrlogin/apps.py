from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QrloginConfig(AppConfig):
    name = "qrlogin"
    verbose_name = _("QR login and cloud ports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import qrlogin.gauges  # noqa: F401 - registers this app's /metrics gauges
