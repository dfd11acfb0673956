"""Prometheus counters for the webhook pipeline (exposed at /metrics by issue 9)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECEIVED = Counter(
    "switchboard_webhook_received_total",
    "Webhook deliveries stored in the inbox (acknowledged or rejected), by kind.",
    ["kind"],
)
REJECTED = Counter(
    "switchboard_webhook_rejected_total",
    "Webhook deliveries refused, by kind and reason (signature, payload, too_large, db).",
    ["kind", "reason"],
)
RECORDS = Counter(
    "switchboard_webhook_records_total",
    "Records carried by acknowledged webhook deliveries, by kind.",
    ["kind"],
)
PROCESSED = Counter(
    "switchboard_webhook_processed_total",
    "Webhook events applied by the processing task, by kind and outcome.",
    ["kind", "outcome"],
)
LAG = Histogram(
    "switchboard_webhook_processing_lag_seconds",
    "Time from receipt to applied, per event.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
