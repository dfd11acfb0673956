"""Writes the role groups from `core.roles`' data: the three groups hold exactly their
capabilities. Re-applied after every migrate (core/apps.py), so a deploy cannot drift."""

from __future__ import annotations

from typing import Any

from core.roles import CAPABILITY_LABELS, ROLE_CAPS, Cap


def ensure_groups(**_: Any) -> None:
    """Create the three groups with exactly their capabilities (idempotent)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from core.models import Capability

    ct = ContentType.objects.get_for_model(Capability)
    perms = {}
    for cap in Cap:
        perm, _created = Permission.objects.get_or_create(
            content_type=ct, codename=cap.value, defaults={"name": CAPABILITY_LABELS[cap]}
        )
        perms[cap] = perm
    for role, caps in ROLE_CAPS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([perms[c] for c in caps])
