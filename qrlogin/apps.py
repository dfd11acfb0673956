from django.apps import AppConfig


class QrloginConfig(AppConfig):
    name = "qrlogin"
    default_auto_field = "django.db.models.BigAutoField"
