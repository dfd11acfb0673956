"""Prometheus metrics shared by every process on every host.

Counters and histograms live in the shared cache (Redis in production): a web process,
a Celery worker on another host and beat all add to the same numbers, and /metrics on any
web process reports the fleet-wide totals. Gauges (accounts by state, ports, lag, lane
depth) are computed from the database at scrape time.
"""

from __future__ import annotations

import atexit
import bisect
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from django.core.cache import cache
from django.db import transaction
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

INDEX_KEY = "metrics:index"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# name -> (type, help)
DESCRIPTIONS: dict[str, tuple[str, str]] = {}
_known: set[str] = set()
_known_since = time.monotonic()
KNOWN_TTL = 60.0
GaugeSource = Callable[[], Iterable[tuple[Mapping[str, str], float]]]
_gauges: dict[str, tuple[str, GaugeSource]] = {}


def describe(name: str, kind: str, help_text: str) -> None:
    DESCRIPTIONS[name] = (kind, help_text)


def _key(name: str, labels: Mapping[str, str], suffix: str = "") -> str:
    return (
        f"metrics:{name}{suffix}:{json.dumps(dict(sorted(labels.items())), separators=(',', ':'))}"
    )


def _remember(key: str, *, force: bool = False) -> None:
    global _known_since
    now = time.monotonic()
    if now - _known_since > KNOWN_TTL:
        # The shared index can be flushed or evicted while this process runs: forget what
        # we believe is registered now and then, so every key is re-checked.
        _known.clear()
        _known_since = now
    if key in _known and not force:
        return
    index = cache.get(INDEX_KEY) or []
    if key not in index:
        index.append(key)
        cache.set(INDEX_KEY, index, timeout=None)
    _known.add(key)


def _incr(key: str, amount: int) -> None:
    try:
        cache.incr(key, amount)
    except ValueError:  # missing: new, or the cache was flushed (add is atomic)
        if not cache.add(key, amount, timeout=None):
            cache.incr(key, amount)
        _remember(key, force=True)
        return
    # Each process registers the keys it touches, which also repairs an index entry lost
    # to two processes appending at the same moment.
    _remember(key)


def inc(name: str, labels: Mapping[str, str] | None = None, amount: int = 1) -> None:
    """Add to a counter. Never raises: metrics must not break the work they measure."""
    try:
        _incr(_key(name, labels or {}), amount)
    except Exception:
        log.debug("metric %s not recorded", name, exc_info=True)


def observe(name: str, labels: Mapping[str, str] | None, seconds: float) -> None:
    """Record one observation in a histogram (microsecond sum, fixed buckets)."""
    labels = labels or {}
    try:
        i = bisect.bisect_left(BUCKETS, seconds)
        bucket = str(BUCKETS[i]) if i < len(BUCKETS) else "+Inf"
        _incr(_key(name, {**labels, "le": bucket}, "_bucket"), 1)
        _incr(_key(name, labels, "_sum_us"), int(seconds * 1_000_000))
    except Exception:
        log.debug("metric %s not recorded", name, exc_info=True)


def gauge(name: str, help_text: str) -> Callable[[GaugeSource], GaugeSource]:
    """Register a function computing a gauge's samples at scrape time."""

    def register(fn: GaugeSource) -> GaugeSource:
        _gauges[name] = (help_text, fn)
        return fn

    return register


class SharedCollector(Collector):
    def collect(self):  # type: ignore[no-untyped-def]
        try:
            index: list[str] = cache.get(INDEX_KEY) or []
            values = cache.get_many(index) if index else {}
        except Exception:  # the shared cache (Redis) is down: the gauges still answer
            log.warning("metrics: the shared cache is unavailable", exc_info=True)
            index, values = [], {}
        counters: dict[str, list[tuple[dict[str, str], float]]] = {}
        hist_buckets: dict[str, dict[str, dict[str, float]]] = {}
        hist_sums: dict[str, dict[str, float]] = {}
        for key, value in values.items():
            _prefix, rest = key.split(":", 1)
            name, labels_json = rest.split(":", 1)
            labels = json.loads(labels_json)
            if name.endswith("_bucket"):
                base = name.removesuffix("_bucket")
                le = labels.pop("le")
                hist_buckets.setdefault(base, {}).setdefault(
                    json.dumps(labels, sort_keys=True), {}
                )[le] = float(value)
            elif name.endswith("_sum_us"):
                base = name.removesuffix("_sum_us")
                hist_sums.setdefault(base, {})[json.dumps(labels, sort_keys=True)] = (
                    float(value) / 1e6
                )
            else:
                counters.setdefault(name, []).append((labels, float(value)))
        for name, samples in sorted(counters.items()):
            help_text = DESCRIPTIONS.get(name, ("counter", name))[1]
            label_names = sorted({k for labels, _ in samples for k in labels})
            family = CounterMetricFamily(name.removesuffix("_total"), help_text, labels=label_names)
            for labels, value in samples:
                family.add_metric([labels.get(k, "") for k in label_names], value)
            yield family
        for name, series in sorted(hist_buckets.items()):
            help_text = DESCRIPTIONS.get(name, ("histogram", name))[1]
            label_names = sorted({k for lj in series for k in json.loads(lj)})
            family_h = HistogramMetricFamily(name, help_text, labels=label_names)
            for labels_json, by_le in series.items():
                labels = json.loads(labels_json)
                running = 0.0
                buckets = []
                for b in [*(str(x) for x in BUCKETS), "+Inf"]:
                    running += by_le.get(b, 0.0)
                    buckets.append((b, running))
                family_h.add_metric(
                    [labels.get(k, "") for k in label_names],
                    buckets,
                    hist_sums.get(name, {}).get(labels_json, 0.0),
                )
            yield family_h
        for name, (help_text, fn) in sorted(_gauges.items()):
            try:
                # A savepoint each: one failing gauge must not abort the others' queries.
                with transaction.atomic():
                    samples_g = list(fn())
            except Exception:
                log.warning("gauge %s failed", name, exc_info=True)
                continue
            label_names = sorted({k for labels, _ in samples_g for k in labels})
            family_g = GaugeMetricFamily(name, help_text, labels=label_names)
            for labels, value in samples_g:
                family_g.add_metric([labels.get(k, "") for k in label_names], value)
            yield family_g


# --- buffered recording, for hot paths ------------------------------------------------------
# A webhook receiver answering hundreds of POSTs a second should not pay cache round trips
# for its own metrics: counts are added up in the process and flushed at most once a second
# (and at exit). Readers see them at most a second late.

FLUSH_EVERY = 1.0
_buffer_lock = threading.Lock()
_buffer: dict[str, int] = {}
_last_flush = time.monotonic()


def _buffer_add(key: str, amount: int) -> None:
    global _last_flush
    due = False
    with _buffer_lock:
        _buffer[key] = _buffer.get(key, 0) + amount
        now = time.monotonic()
        if now - _last_flush >= FLUSH_EVERY:
            _last_flush = now
            due = True
    if due:
        flush_buffer()


def inc_buffered(name: str, labels: Mapping[str, str] | None = None, amount: int = 1) -> None:
    _buffer_add(_key(name, labels or {}), amount)


def observe_buffered(name: str, labels: Mapping[str, str] | None, seconds: float) -> None:
    labels = labels or {}
    i = bisect.bisect_left(BUCKETS, seconds)
    bucket = str(BUCKETS[i]) if i < len(BUCKETS) else "+Inf"
    _buffer_add(_key(name, {**labels, "le": bucket}, "_bucket"), 1)
    _buffer_add(_key(name, labels, "_sum_us"), int(seconds * 1_000_000))


def flush_buffer() -> None:
    """Send the buffered counts to the shared cache (never raises)."""
    with _buffer_lock:
        pending = dict(_buffer)
        _buffer.clear()
    for key, amount in pending.items():
        try:
            _incr(key, amount)
        except Exception:
            log.debug("metric %s not recorded", key, exc_info=True)


atexit.register(flush_buffer)
