"""The Celery application. Queues: `fast` (webhooks, UI jobs, login results) and
`slow` (reconcile, imports, contact look-ups), so a big import never delays a login."""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue its own exchange and key: with defaults, Celery binds every declared queue
# to the default exchange with the default key, and one message reaches both queues.
app.conf.task_queues = (
    Queue("fast", Exchange("fast", type="direct"), routing_key="fast"),
    Queue("slow", Exchange("slow", type="direct"), routing_key="slow"),
)
app.conf.update(task_default_exchange="fast", task_default_routing_key="fast")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _gather_beat_schedule(sender: Celery, **_: object) -> None:
    # Each app declares its periodic tasks in BEAT in its tasks.py module.
    from core.tasks import collect_beat_schedule

    sender.conf.beat_schedule = collect_beat_schedule()
    import core.celery_signals  # noqa: F401 - task outcome metrics
