"""Domain events: how an app tells the apps above it what changed, without importing them
(docs/design.md, "Layers").

The app that makes a change names its events and emits them (accounts/events.py,
actions/events.py, ...); an app above subscribes in its AppConfig.ready (notify writes
the outbox and raises alerts). A handler runs at once, in the emitter's transaction, so
what it writes commits or rolls back with the change. core knows no event by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]

_handlers: defaultdict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str, handler: Handler) -> None:
    """Call `handler(**payload)` on each `emit(event, **payload)` (once, however many
    times the app's ready() runs)."""
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def emit(event: str, **payload: Any) -> None:
    """Run every handler subscribed to `event`, in the order they subscribed. An error in
    one propagates: the change it belongs to rolls back, as when it was called directly."""
    for handler in list(_handlers.get(event, ())):
        handler(**payload)
