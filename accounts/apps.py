from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import accounts.gauges  # noqa: F401 - registers this app's /metrics gauges
        from accounts import access
        from core.access import provide_moved

        # Until the last callers import accounts.access (see core/access.py).
        provide_moved(
            agent_for_user=access.agent_for_user,
            accounts_visible_to=access.accounts_visible_to,
            get_account_for_user=access.get_account_for_user,
        )
