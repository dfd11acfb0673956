from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import webhooks.gauges
        import webhooks.health  # noqa: F401 - registers the webhook-lag health check
