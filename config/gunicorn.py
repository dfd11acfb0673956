"""gunicorn's settings for the web tier (the Procfile's `web`: `-c python:config.gunicorn`).

Its workers share their metrics through PROMETHEUS_MULTIPROC_DIR (core/metrics.py): the
directory is emptied when gunicorn starts, and a worker's files are marked dead when it exits,
so /metrics on any worker reports the whole instance."""

from __future__ import annotations

from typing import Any

# Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads new
# connections over them. On one shared socket, the uvicorn worker that woke first took every
# connection waiting (its event loop accepts until none is left): 8 keep-alive clients all
# on one of 4 workers, one process's GIL serving them while the others idled
# (docs/operations.md, "Pages over HTTP").
reuse_port = True


def on_starting(server: Any) -> None:
    from core.metrics import clear_multiprocess_dir

    clear_multiprocess_dir()


def child_exit(server: Any, worker: Any) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
