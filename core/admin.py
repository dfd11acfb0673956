"""Django admin for core, and the audit of every change made through the Django admin.

`AuditedAdmin` records each add, change and delete (one by one or as a bulk action) in the
audit log with who, when, what, and the row before and after. Secrets never enter the
record: encrypted fields, binary bodies, password hashes and token digests are left out.
Users and groups are re-registered with it, with their groups and permissions in the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.choices import label
from core.crypto import EncryptedTextField
from core.models import ApiToken, AuditEntry, CspReport

# Never recorded, whatever the model.
UNRECORDED = frozenset({"password", "digest", "body", "headers"})


def coded(field: str, choices: type[models.Choices], description: Any) -> Callable[[Any], str]:
    """A list column for a code kept without `choices` on its field (the vendor may send
    undocumented values): the word first, the code in a tooltip."""

    @admin.display(description=description, ordering=field)
    def show(obj: Any) -> str:
        value = getattr(obj, field)
        if value is None:
            return "-"
        return format_html('<span title="{}">{}</span>', value, label(choices, value))

    show.__name__ = f"{field}_label"
    return show


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose every write lands in the audit log (`admin.<model>.<verb>`)."""

    audit_fields: tuple[str, ...] | None = None  # None: every concrete field that is no secret
    audit_m2m: tuple[str, ...] = ()

    def audit_snapshot(self, obj: models.Model | None) -> dict[str, Any] | None:
        if obj is None or obj.pk is None:
            return None
        out: dict[str, Any] = {}
        for f in obj._meta.concrete_fields:
            if self.audit_fields is not None and f.name not in self.audit_fields:
                continue
            if (
                f.name in UNRECORDED
                or isinstance(f, EncryptedTextField | models.BinaryField)
                or f.primary_key
            ):
                continue
            out[f.name] = f.value_from_object(obj)
        for name in self.audit_m2m:
            out[name] = sorted(str(o) for o in getattr(obj, name).all())
        return _plain(out)  # type: ignore[no-any-return]

    def _label(self) -> str:
        return self.model._meta.model_name or "object"

    def _load(self, obj: models.Model) -> models.Model | None:
        return type(obj)._default_manager.filter(pk=obj.pk).first() if obj.pk else None

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The row as stored, before this save (and before the form's m2m are saved).
        request._audit_before = self.audit_snapshot(self._load(obj)) if change else None  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        audit_record(
            actor=request.user,
            action=f"admin.{self._label()}.{'change' if change else 'add'}",
            target_type=self._label(),
            target_id=str(obj.pk),
            before=getattr(request, "_audit_before", None),
            after=self.audit_snapshot(self._load(obj)),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before, pk = self.audit_snapshot(obj), obj.pk
        super().delete_model(request, obj)
        self._audit_delete(request, pk, before)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = [(o.pk, self.audit_snapshot(o)) for o in queryset]
        super().delete_queryset(request, queryset)
        for pk, before in rows:
            self._audit_delete(request, pk, before)

    def _audit_delete(self, request: HttpRequest, pk: Any, before: dict[str, Any] | None) -> None:
        audit_record(
            actor=request.user,
            action=f"admin.{self._label()}.delete",
            target_type=self._label(),
            target_id=str(pk),
            before=before,
        )


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):  # type: ignore[misc]
    audit_fields = (
        "username",
        "first_name",
        "last_name",
        "email",
        "is_active",
        "is_staff",
        "is_superuser",
    )
    audit_m2m = ("groups", "user_permissions")

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response: HttpResponse = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = User.objects.filter(pk=id).first()
            audit_record(
                actor=request.user,
                action="admin.user.password",
                target_type="user",
                target_id=str(id),
                after={"username": user.get_username() if user else "", "password": "changed"},
            )
        return response


@admin.register(Group)
class GroupAdmin(AuditedAdmin, BaseGroupAdmin):  # type: ignore[misc]
    audit_m2m = ("permissions",)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("at", "actor_name", "action_words", "target_type", "target_id")
    list_filter = ("action",)
    search_fields = ("actor_name", "target_id")

    @admin.display(description=_("action"), ordering="action")
    def action_words(self, obj: AuditEntry) -> str:
        from core.audit_diff import action_label

        return format_html('<span title="{}">{}</span>', obj.action, action_label(obj.action))

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(CspReport)
class CspReportAdmin(AuditedAdmin):
    list_display = ("at", "violated_directive", "document_uri", "blocked_uri")
