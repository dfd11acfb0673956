from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QrloginConfig(AppConfig):
    name = "qrlogin"
    verbose_name = _("QR login and cloud ports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import qrlogin.gauges  # noqa: F401 - registers this app's /metrics gauges
        from ports.services import LoginLookups, register_login_lookups
        from qrlogin.selectors import is_login_id, port_session_id

        # The port operations send the preGenerate id of a login made here (ports/services.py).
        register_login_lookups(
            LoginLookups(pregenerate_id_for=port_session_id, is_login_id=is_login_id)
        )
