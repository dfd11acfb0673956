"""Prometheus metrics, per instance, with `prometheus_client`.

Each process counts in its own memory; a process with several workers (gunicorn's web
workers, a prefork Celery worker) shares them through `PROMETHEUS_MULTIPROC_DIR`
(prometheus_client's multiprocess mode), and each instance is scraped on its own: the web
tier at /metrics, a Celery worker at `CELERY_METRICS_PORT`. Prometheus sums instances in
PromQL (`sum by (operation) (rate(switchboard_upstream_calls_total[5m]))`); see
docs/operations.md and the dashboard in deploy/grafana/.

Requests, latency and database queries come from django-prometheus (its middleware and its
PostgreSQL backend). Fleet gauges (accounts by state, ports, lag, lane depth) are computed
from the database when /metrics is scraped, by one collector, `FleetCollector`: every web
instance reports the same values, so dashboards take `max`, not `sum`, of them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping

from django.db import transaction
from prometheus_client import REGISTRY, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# name -> (kind, help)
DESCRIPTIONS: dict[str, tuple[str, str]] = {}
GaugeSource = Callable[[], Iterable[tuple[Mapping[str, str], float]]]
_gauges: dict[str, tuple[str, GaugeSource]] = {}
_counters: dict[str, Counter] = {}
_histograms: dict[str, Histogram] = {}
_lock = threading.Lock()


def describe(name: str, kind: str, help_text: str) -> None:
    """Say what a counter or histogram measures; it is created with its label names on its
    first use (every use of one name passes the same labels)."""
    DESCRIPTIONS[name] = (kind, help_text)


def _help(name: str) -> str:
    return DESCRIPTIONS.get(name, ("", name))[1]


def _counter(name: str, label_names: tuple[str, ...]) -> Counter:
    with _lock:
        if name not in _counters:
            _counters[name] = Counter(name, _help(name), label_names)
        return _counters[name]


def _histogram(name: str, label_names: tuple[str, ...]) -> Histogram:
    with _lock:
        if name not in _histograms:
            _histograms[name] = Histogram(name, _help(name), label_names, buckets=BUCKETS)
        return _histograms[name]


def inc(name: str, labels: Mapping[str, str] | None = None, amount: int = 1) -> None:
    """Add to a counter. Never raises: metrics must not break the work they measure."""
    labels = labels or {}
    try:
        counter = _counters.get(name) or _counter(name, tuple(sorted(labels)))
        (counter.labels(**labels) if labels else counter).inc(amount)
    except Exception:
        log.debug("metric %s not recorded", name, exc_info=True)


def observe(name: str, labels: Mapping[str, str] | None, seconds: float) -> None:
    """Record one observation in a histogram. Never raises."""
    labels = labels or {}
    try:
        histogram = _histograms.get(name) or _histogram(name, tuple(sorted(labels)))
        (histogram.labels(**labels) if labels else histogram).observe(seconds)
    except Exception:
        log.debug("metric %s not recorded", name, exc_info=True)


def gauge(name: str, help_text: str) -> Callable[[GaugeSource], GaugeSource]:
    """Register a function computing a fleet gauge's samples at scrape time."""

    def register(fn: GaugeSource) -> GaugeSource:
        _gauges[name] = (help_text, fn)
        return fn

    return register


class FleetCollector(Collector):
    """The fleet's gauges, read from the database at scrape time."""

    def collect(self):  # type: ignore[no-untyped-def]
        for name, (help_text, fn) in sorted(_gauges.items()):
            try:
                # A savepoint each: one failing gauge must not abort the others' queries.
                with transaction.atomic():
                    samples = list(fn())
            except Exception:
                log.warning("gauge %s failed", name, exc_info=True)
                continue
            label_names = sorted({k for labels, _ in samples for k in labels})
            family = GaugeMetricFamily(name, help_text, labels=label_names)
            for labels, value in samples:
                family.add_metric([labels.get(k, "") for k in label_names], value)
            yield family


def instance_registry() -> CollectorRegistry:
    """What this instance reports: every process of it (multiprocess mode) or this one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def clear_multiprocess_dir() -> None:
    """Start an instance from zero: its processes' files of an earlier run are stale."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.unlink(os.path.join(directory, name))
