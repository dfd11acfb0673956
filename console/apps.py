from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The pages that gather several apps (the home dashboard): they sit above the domain
    apps, so core/ stays the ground floor."""

    name = "console"
    default_auto_field = "django.db.models.BigAutoField"
