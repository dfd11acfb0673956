"""selectPairTarget, cached in PairTarget."""

from __future__ import annotations

import logging

from django.db import transaction

from qrlogin.models import PairTarget
from upstream import operations
from upstream.errors import UpstreamProblem

log = logging.getLogger(__name__)


def pair_targets_refresh() -> list[PairTarget]:
    """Fetch the pairing targets and replace the cache with them (raises UpstreamProblem;
    the cache is untouched then)."""
    fetched = operations.select_pair_target()
    with transaction.atomic():
        keep = []
        for t in fetched:
            if not t.target_tenant_id:
                continue
            row, _ = PairTarget.objects.update_or_create(
                target_tenant_id=t.target_tenant_id,
                defaults={"name": t.target_tenant_name, "created_at_upstream": t.create_time},
            )
            keep.append(row.target_tenant_id)
        PairTarget.objects.exclude(target_tenant_id__in=keep).delete()
    log.info("pairing targets refreshed: %d", len(keep))
    return list(PairTarget.objects.all())


def pair_targets_ensure_fresh() -> str:
    """Refresh the cache when it is stale (the start page and the API both do this).
    Returns "" or, when the vendor could not be asked, why not in plain words."""
    from qrlogin import selectors
    from qrlogin.errors import explain

    if not selectors.pair_targets_stale():
        return ""
    try:
        pair_targets_refresh()
    except UpstreamProblem as exc:
        return explain(exc)[1]
    return ""
