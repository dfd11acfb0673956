"""Celery tasks of the accounts app, one module per topic (autodiscovered from here)."""

from accounts.tasks.fleet import *  # noqa: F403
from accounts.tasks.fleet import BEAT as FLEET_BEAT
from accounts.tasks.reconcile import *  # noqa: F403
from accounts.tasks.reconcile import BEAT as RECONCILE_BEAT

BEAT = {**FLEET_BEAT, **RECONCILE_BEAT}
