"""The one way to write the audit log."""

from __future__ import annotations

from typing import Any

from core.access import acting_user
from core.logging import current_request_id
from core.models import AuditEntry


def audit_record(
    *,
    actor: Any,
    action: str,
    target_type: str = "",
    target_id: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    user = acting_user(actor)
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        request_id=current_request_id() or "",
    )
