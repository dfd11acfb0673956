"""Metric descriptions that belong to no single app. Each domain app registers its own
gauges (`<app>/gauges.py`, imported by its AppConfig.ready), so core imports none of them."""

from __future__ import annotations

from core.metrics import describe

# Counters are described next to their code (upstream/metrics.py, webhooks/metrics.py).
describe("switchboard_celery_tasks_total", "counter", "Celery task outcomes by task and state")
