"""What a signed-in user holds, read in one query per request: their permissions (their own
and their groups'), their groups' names (the role) and their time zone (core.zones).

Django's ModelBackend reads the user's own permissions and the groups' permissions in two
queries, and `role_of` read the groups in a third: three of the fleet page's nine queries
(bench/pages.py --profile). `load` fills ModelBackend's own caches on the user object with
what it would have read, so `has_perm` (and DRF and the admin after it) answers exactly as
before, from one query. Nothing outlives the request's user object: a role taken away
applies to the very next request. (A backend of our own would have done the same, but
every session names the backend that signed it in: changing it signs everyone out.)
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

_GROUP_NAMES = "_sb_group_names"
_TIME_ZONE = "_sb_time_zone"


@functools.cache
def _sql() -> str:
    from core.models import Preferences

    user = get_user_model()
    user_perms = user.user_permissions.through._meta.db_table
    user_groups = user.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    perm = Permission._meta.db_table
    ct = ContentType._meta.db_table
    prefs = Preferences._meta.db_table
    return f"""
        SELECT 'u', ct.app_label, p.codename
          FROM {user_perms} up
          JOIN {perm} p ON p.id = up.permission_id
          JOIN {ct} ct ON ct.id = p.content_type_id
         WHERE up.user_id = %(user)s
        UNION ALL
        SELECT 'g', ct.app_label, p.codename
          FROM {user_groups} ug
          JOIN {group_perms} gp ON gp.group_id = ug.group_id
          JOIN {perm} p ON p.id = gp.permission_id
          JOIN {ct} ct ON ct.id = p.content_type_id
         WHERE ug.user_id = %(user)s
        UNION ALL
        SELECT 'n', g.name, ''
          FROM {user_groups} ug
          JOIN {Group._meta.db_table} g ON g.id = ug.group_id
         WHERE ug.user_id = %(user)s
        UNION ALL
        SELECT 'z', pr.time_zone, ''
          FROM {prefs} pr
         WHERE pr.user_id = %(user)s
    """  # noqa: S608 - table names from _meta; the user id is bound


def load(user: Any) -> None:
    """Read the user's grants once (a no-op when this request already has them)."""
    if hasattr(user, _GROUP_NAMES):
        return
    with connection.cursor() as cur:
        cur.execute(_sql(), {"user": user.pk})
        rows = cur.fetchall()
    own = {f"{app}.{code}" for kind, app, code in rows if kind == "u"}
    via_groups = {f"{app}.{code}" for kind, app, code in rows if kind == "g"}
    if not user.is_superuser:  # a superuser holds every permission: ModelBackend reads them
        user._user_perm_cache = own
        user._group_perm_cache = via_groups
        user._perm_cache = own | via_groups
    setattr(user, _GROUP_NAMES, frozenset(name for kind, name, _ in rows if kind == "n"))
    setattr(user, _TIME_ZONE, next((zone for kind, zone, _ in rows if kind == "z"), ""))


def group_names(user: Any) -> frozenset[str]:
    load(user)
    names: frozenset[str] = getattr(user, _GROUP_NAMES)
    return names


def time_zone(user: Any) -> str:
    """The user's own time zone setting; empty when they have none."""
    load(user)
    zone: str = getattr(user, _TIME_ZONE)
    return zone


def forget(user: Any) -> None:
    """Read again at the next question (the user's settings changed in this request)."""
    for name in (_GROUP_NAMES, _TIME_ZONE):
        if hasattr(user, name):
            delattr(user, name)
