"""Central access helpers. Views and APIs ask here; they never hand-roll checks.

- `role_of(user)`: the user's role.
- `can(user, cap)`: one capability.
- `require(cap)`: view decorator (anonymous -> login, lacking the capability -> 403).
- `*_visible_to(user)`: querysets scoped to what the user may see (agents: their own).
- `get_*_for_user(user, key)`: one object, or 404 when it is not the user's to see,
  so a stranger's object is indistinguishable from a missing one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from core.roles import Cap, Role

if TYPE_CHECKING:
    from accounts.models import Agent, WhatsAppAccount

F = TypeVar("F", bound=Callable[..., HttpResponse])


def role_of(user: Any) -> Role | None:
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = {g.name for g in user.groups.all()}
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.AGENT):
        if role.value in names:
            return role
    return None


def can(user: Any, cap: Cap) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(f"core.{cap.value}")


def sees_everything(user: Any) -> bool:
    """Supervisors and admins see the whole fleet; agents only their own."""
    return can(user, Cap.MANAGE_ACCOUNTS)


def require(*caps: Cap) -> Callable[[F], F]:
    """Any one of `caps` admits the request."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if caps and not any(can(request.user, c) for c in caps):
                raise PermissionDenied
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
        return any(can(request.user, c) for c in self.caps)


# --- scoping ----------------------------------------------------------------------


def agent_for_user(user: Any) -> Agent | None:
    from accounts.models import Agent

    if not getattr(user, "is_authenticated", False):
        return None
    return Agent.objects.filter(user=user).first()


def accounts_visible_to(user: Any) -> QuerySet[WhatsAppAccount]:
    from accounts.models import WhatsAppAccount

    qs = WhatsAppAccount.objects.all()
    if sees_everything(user):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(agent__user=user)


def get_account_for_user(user: Any, whatsapp: str) -> WhatsAppAccount:
    account = accounts_visible_to(user).filter(whatsapp=whatsapp).first()
    if account is None:
        raise Http404("No such account")
    return account


def scope_to_owner(user: Any, qs: QuerySet[Any], owner_field: str = "created_by") -> QuerySet[Any]:
    """Supervisors/admins: all rows; everyone else: rows they own."""
    if sees_everything(user):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(**{owner_field: user})


def get_owned_or_404(
    user: Any, qs: QuerySet[Any], owner_field: str = "created_by", **lookup: Any
) -> Any:
    obj = scope_to_owner(user, qs, owner_field).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj
