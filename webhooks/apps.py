from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import webhooks.gauges
        import webhooks.health  # noqa: F401 - registers the webhook-lag health check

    def deployment_problems(self, conf: Any) -> list[tuple[str, str]]:
        """Read by core.checks (`check --deploy` and a production start)."""
        from webhooks.checks import deployment_problems

        return deployment_problems(conf)
