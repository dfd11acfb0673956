from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "notify"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Alerts and outgoing events")

    def ready(self) -> None:
        from accounts import events as accounts_events
        from actions import events as actions_events
        from core import events, outbound
        from core.context_processors import register_nav_badge
        from notify import hooks
        from notify.selectors import open_alert_count
        from notify.services.watch import quota_check
        from ports import events as ports_events
        from qrlogin import events as qrlogin_events

        outbound.install()
        register_nav_badge("notify:alerts", open_alert_count)  # the open alerts
        # The domain events that write the outbox and raise alerts (notify/hooks.py).
        events.subscribe(accounts_events.ACCOUNTS_CHANGED, hooks.account_changes)
        events.subscribe(accounts_events.REGISTRATION_FINISHED, hooks.registration_finished)
        events.subscribe(accounts_events.JOB_FINISHED, hooks.job_finished)
        events.subscribe(actions_events.ACTIONS_FINISHED, hooks.actions_finished)
        events.subscribe(qrlogin_events.QR_SESSION_FINISHED, hooks.qr_session_finished)
        events.subscribe(qrlogin_events.SCAN_TASK_FINISHED, hooks.scan_task_finished)
        events.subscribe(ports_events.PORTS_REFRESHED, quota_check)
