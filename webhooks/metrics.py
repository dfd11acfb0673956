"""Counters of the webhook pipeline (core.metrics: per instance, in the process's memory,
served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from core.metrics import describe, inc, observe


@dataclass(frozen=True)
class _Series:
    name: str
    labels: dict[str, str]

    def inc(self, amount: int = 1) -> None:
        inc(self.name, self.labels, amount)

    def observe(self, seconds: float) -> None:
        observe(self.name, self.labels, seconds)


@dataclass(frozen=True)
class _Metric:
    name: str
    label_names: tuple[str, ...]

    def labels(self, *values: str) -> _Series:
        return _Series(self.name, dict(zip(self.label_names, values, strict=True)))


def _metric(name: str, kind: str, help_text: str, *label_names: str) -> _Metric:
    describe(name, kind, help_text)
    return _Metric(name, label_names)


RECEIVED = _metric(
    "switchboard_webhook_received_total",
    "counter",
    "Webhook deliveries stored in the inbox (acknowledged or rejected), by kind.",
    "kind",
)
REJECTED = _metric(
    "switchboard_webhook_rejected_total",
    "counter",
    "Webhook deliveries refused, by kind and reason (signature, payload, too_large, unavailable).",
    "kind",
    "reason",
)
RECORDS = _metric(
    "switchboard_webhook_records_total",
    "counter",
    "Records carried by acknowledged webhook deliveries, by kind.",
    "kind",
)
RECORDS_REJECTED = _metric(
    "switchboard_webhook_records_rejected_total",
    "counter",
    "Records set aside from acknowledged list deliveries (each kept with its reason), by kind.",
    "kind",
)
REFUSED = _metric(
    "switchboard_webhook_refused_total",
    "counter",
    "Deliveries refused by webhook authentication (WEBHOOK_AUTH), by check and reason.",
    "check",
    "reason",
)
PROCESSED = _metric(
    "switchboard_webhook_processed_total",
    "counter",
    "Webhook events applied by the processing task, by kind and outcome.",
    "kind",
    "outcome",
)
LAG = _metric(
    "switchboard_webhook_processing_lag_seconds",
    "histogram",
    "Time from receipt to applied, per event.",
    "kind",
)
