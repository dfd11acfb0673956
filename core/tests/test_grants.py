"""A user's grants (permissions and role) come from one query per request and answer
exactly what Django's ModelBackend answers (core/grants.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User

from core.access import can, role_of
from core.roles import Cap, Role
from tests.fixtures import client_for


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # as each request loads it: nothing cached yet


def test_one_query_gives_every_capability_and_the_role(
    people: Any, django_assert_num_queries: Any
) -> None:
    for who in (people.supervisor, people.agent, people.outsider):
        user = _fresh(who)
        with django_assert_num_queries(1):
            held = {c for c in Cap if can(user, c)}
            role = role_of(user)
        expected = ModelBackend().get_all_permissions(_fresh(who))
        assert {f"core.{c.value}" for c in held} == {p for p in expected if p.startswith("core.")}
        assert role == {"sam": Role.SUPERVISOR, "alice": Role.AGENT, "olga": None}[who.username]


def test_a_permission_of_the_user_alone_counts_too(people: Any) -> None:
    perm = Permission.objects.get(codename=Cap.VIEW_AUDIT.value, content_type__app_label="core")
    assert not can(_fresh(people.agent), Cap.VIEW_AUDIT)
    people.agent.user_permissions.add(perm)
    user = _fresh(people.agent)
    assert can(user, Cap.VIEW_AUDIT) and user.has_perm(f"core.{Cap.VIEW_AUDIT.value}")
    assert user.get_user_permissions() == {f"core.{Cap.VIEW_AUDIT.value}"}


def test_a_role_taken_away_applies_to_the_next_request(people: Any) -> None:
    sup = client_for(people.supervisor)
    assert sup.get("/accounts/import/").status_code == 200
    people.supervisor.groups.remove(Group.objects.get(name=Role.SUPERVISOR.value))
    assert sup.get("/accounts/import/").status_code == 403


def test_inactive_users_and_superusers_as_django_has_them(people: Any) -> None:
    admin = _fresh(people.admin)  # a superuser: every permission, whatever its groups
    assert all(can(admin, c) for c in Cap) and role_of(admin) == Role.ADMIN
    people.supervisor.is_active = False
    people.supervisor.save(update_fields=["is_active"])
    assert not any(can(_fresh(people.supervisor), c) for c in Cap)
