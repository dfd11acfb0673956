"""The Celery application. Queues: `fast` (webhooks, UI jobs, login results) and
`slow` (reconcile, imports, contact look-ups), so a big import never delays a login."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("fast"), Queue("slow"))
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _gather_beat_schedule(sender: Celery, **_: object) -> None:
    # Each app declares its periodic tasks in BEAT in its tasks.py module.
    from core.tasks import collect_beat_schedule

    sender.conf.beat_schedule = collect_beat_schedule()
    import core.celery_signals  # noqa: F401 - task outcome metrics
