from typing import Any

from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "upstream"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import upstream.gauges
        import upstream.health  # noqa: F401 - registers this app's gauges and health check

    def deployment_problems(self, conf: Any) -> list[tuple[str, str]]:
        """Read by core.checks (`check --deploy` and a production start)."""
        from upstream.checks import deployment_problems

        return deployment_problems(conf)
