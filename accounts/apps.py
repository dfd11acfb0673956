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

        from django.db.models.signals import post_delete, post_save

        from accounts.models import BulkJob

        # The fleet page's recent jobs are kept until a job changes (selectors.recent_jobs).
        for signal in (post_save, post_delete):
            signal.connect(_job_saved, sender=BulkJob, dispatch_uid=f"jobs-changed-{signal}")


def _job_saved(**_kwargs: object) -> None:
    from accounts.selectors import jobs_changed

    jobs_changed()
