"""Central access helpers. Views and APIs ask here; they never hand-roll checks.

- `role_of(user)`: the user's role.
- `can(user, cap)`: one capability.
- `require(cap)`: view decorator (anonymous -> login, lacking the capability -> 403).
- `visible(user, qs)`: the one scoping idiom. Those who see everything get `qs`, anonymous
  callers nothing, everyone else the rows the model's own `owned_by(user)` (a Q) selects:
  each model declares how it is owned. `get_visible_or_404` fetches one row the same way,
  so a stranger's object is indistinguishable from a missing one.
- `signed_in(user)` / `acting_user(user)`: the one test for a real, signed-in user.

The account-scoped helpers (`agent_for_user`, `accounts_visible_to`, `get_account_for_user`)
live in accounts/access.py: core imports no domain app.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from core import grants
from core.roles import Cap, Role

F = TypeVar("F", bound=Callable[..., HttpResponse])


def signed_in(user: Any) -> bool:
    """A real, signed-in user (not anonymous, not a task's missing actor: None)."""
    return user is not None and bool(user.is_authenticated)


def acting_user(user: Any) -> Any | None:
    """The user to record as the actor of a change, or None for the system."""
    return user if signed_in(user) else None


def role_of(user: Any) -> Role | None:
    if not signed_in(user):
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = grants.group_names(user)
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.AGENT):
        if role.value in names:
            return role
    return None


def can(user: Any, cap: Cap) -> bool:
    if not signed_in(user):
        return False
    if user.is_active:
        grants.load(user)  # ModelBackend's caches, in one query (core/grants.py)
    return bool(user.has_perm(f"core.{cap.value}"))


def sees_everything(user: Any) -> bool:
    """Supervisors and admins see the whole fleet; agents only their own."""
    return can(user, Cap.MANAGE_ACCOUNTS)


class RolesThatCan(tuple):  # type: ignore[type-arg]
    """The roles any of `caps` belongs to, carried by a PermissionDenied to the 403 page
    (core/error_views.py), which names them and what they can do (`sentence`)."""

    caps: tuple[Cap, ...]

    def __new__(cls, caps: tuple[Cap, ...]) -> RolesThatCan:
        from core.roles import ROLE_CAPS

        roles = super().__new__(cls, [r for r, held in ROLE_CAPS.items() if held & set(caps)])
        roles.caps = tuple(caps)
        return roles

    def sentence(self) -> str:
        """Who can do it, in words: "Only an admin can change event subscriptions." """
        from django.utils.translation import gettext as _

        from core.roles import CAP_ACTIONS

        what = CAP_ACTIONS[self.caps[0]] if self.caps else _("do this")
        if Role.AGENT in self:
            text = _("Agents, supervisors and admins can %(what)s.")
        elif Role.SUPERVISOR in self:
            text = _("Only supervisors and admins can %(what)s.")
        else:
            text = _("Only an admin can %(what)s.")
        return text % {"what": what}


def require(*caps: Cap) -> Callable[[F], F]:
    """Any one of `caps` admits the request."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if caps and not any(can(request.user, c) for c in caps):
                raise PermissionDenied(RolesThatCan(caps))
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def require_to_change(*caps: Cap) -> Callable[[F], F]:
    """Under `require(...)` of a page some roles may only read: any request but GET and
    HEAD also needs one of `caps` (the 403 names who has it)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            changing = request.method not in ("GET", "HEAD")
            if changing and not any(can(request.user, c) for c in caps):
                raise PermissionDenied(RolesThatCan(caps))
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def require_login(view: F) -> F:
    return require()(view)


class HasCap(BasePermission):
    """DRF: `permission_classes = [HasCap.of(Cap.X, Cap.Y)]` (any one admits)."""

    caps: tuple[Cap, ...] = ()

    @classmethod
    def of(cls, *caps: Cap) -> type[HasCap]:
        return type(f"HasCap_{'_'.join(c.value for c in caps)}", (cls,), {"caps": caps})

    def has_permission(self, request: Any, view: Any) -> bool:
        if any(can(request.user, c) for c in self.caps):
            return True
        self.message = RolesThatCan(self.caps).sentence()  # DRF's 403 detail
        return False


class ReadOrChange(BasePermission):
    """DRF: `ReadOrChange.of(read=Cap.X, change=Cap.Y)`: safe methods need `read`, the
    others `change`."""

    read: Cap
    change: Cap

    @classmethod
    def of(cls, *, read: Cap, change: Cap) -> type[ReadOrChange]:
        name = f"ReadOrChange_{read.value}_{change.value}"
        return type(name, (cls,), {"read": read, "change": change})

    def has_permission(self, request: Any, view: Any) -> bool:
        cap = self.read if request.method in ("GET", "HEAD", "OPTIONS") else self.change
        if can(request.user, cap):
            return True
        self.message = RolesThatCan((cap,)).sentence()
        return False


# --- scoping ----------------------------------------------------------------------


def visible(user: Any, qs: QuerySet[Any], *, sees_all: Cap = Cap.MANAGE_ACCOUNTS) -> QuerySet[Any]:
    """All of `qs` for holders of `sees_all` (supervisors, admins), nothing for anonymous
    callers, else the rows `qs.model.owned_by(user)` selects."""
    if can(user, sees_all):
        return qs
    if not signed_in(user):
        return qs.none()
    return qs.filter(qs.model.owned_by(user))


def get_visible_or_404(
    user: Any, qs: QuerySet[Any], *, sees_all: Cap = Cap.MANAGE_ACCOUNTS, **lookup: Any
) -> Any:
    obj = visible(user, qs, sees_all=sees_all).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj
