"""A Celery worker in its own process for the kill test (python -m webhooks.tests.worker_proc).

Reads SB_BROKER_PREFIX so it consumes from the test process's broker namespace."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from config.celery import app  # noqa: E402

options = dict(app.conf.broker_transport_options or {})
options["global_keyprefix"] = os.environ["SB_BROKER_PREFIX"]
app.conf.broker_transport_options = options

if __name__ == "__main__":
    app.worker_main(
        [
            "worker",
            "-Q",
            "fast",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
    )
