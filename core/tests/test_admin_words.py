"""The Django admin speaks the reader's language: every model of ours, and every app, has a
name and a plural name in English and Simplified Chinese; codes kept without choices
(presence 10/30, status log codes, audit actions) show as words, the code in a tooltip."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.utils import timezone, translation

from accounts.models import StatusEvent
from accounts.tests.helpers import make_account
from tests.fixtures import People, client_for

OURS = ("accounts", "actions", "core", "identity", "notify", "ports", "qrlogin", "webhooks")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_every_model_and_app_is_named_in_both_languages() -> None:
    unnamed, untranslated = [], []
    for app_label in OURS:
        config = apps.get_app_config(app_label)
        with translation.override("zh-hans"):
            if not CHINESE.search(str(config.verbose_name)):
                untranslated.append(app_label)
        for model in config.get_models():
            meta = model._meta
            if not {"verbose_name", "verbose_name_plural"} <= set(meta.original_attrs):
                unnamed.append(meta.label)
                continue
            with translation.override("zh-hans"):
                words = (str(meta.verbose_name), str(meta.verbose_name_plural))
            if not all(CHINESE.search(w) for w in words):
                untranslated.append(f"{meta.label}: {words}")
    assert unnamed == [] and untranslated == []


def test_the_lockout_librarys_models_are_named_in_chinese_too() -> None:
    """django-axes ships no Chinese: our catalogue names its admin lists
    (core/library_names.py)."""
    for model in apps.get_app_config("axes").get_models():
        with translation.override("zh-hans"):
            words = (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        assert all(CHINESE.search(w) for w in words), (model._meta.label, words)


@pytest.mark.django_db
def test_admin_lists_show_codes_as_words(people: People) -> None:
    make_account("8613800000071", presence_status=30)
    StatusEvent.objects.create(
        whatsapp="8613800000071",
        status=10,
        detail_status=12,
        event_time=timezone.now(),
        received_at=timezone.now(),
    )
    admin = client_for(people.admin)
    accounts = admin.get("/admin/accounts/whatsappaccount/").content.decode()
    assert '<span title="30">Offline</span>' in accounts
    log = admin.get("/admin/accounts/statusevent/").content.decode()
    assert '<span title="10">Online</span>' in log and '<span title="12">PC online</span>' in log

    admin.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    accounts = admin.get("/admin/accounts/whatsappaccount/").content.decode()
    assert '<span title="30">离线</span>' in accounts
    index = admin.get("/admin/").content.decode()
    assert "坐席" in index and "审计日志" in index


def test_the_libraries_admin_lists_speak_chinese_in_names_and_columns() -> None:
    """The admin pages of django-axes, django-allauth's second factors and Django's own
    users: the app's name, the model's names, every column and filter title in Chinese
    (from the libraries' catalogues or ours, core/library_names.py)."""
    from django.contrib import admin
    from django.contrib.admin.utils import label_for_field

    english = []
    with translation.override("zh-hans"):
        for model, model_admin in admin.site._registry.items():
            meta = model._meta
            if meta.app_label in OURS:
                continue
            words = [
                str(meta.app_config.verbose_name),
                str(meta.verbose_name),
                str(meta.verbose_name_plural),
            ]
            words += [
                str(label_for_field(name, model, model_admin))
                for name in (*model_admin.list_display, *model_admin.list_filter)
                if isinstance(name, str)
            ]
            words += [
                str(f.title)
                for f in model_admin.list_filter
                if isinstance(f, type) and hasattr(f, "title")
            ]
            english += [f"{meta.label}: {w}" for w in words if not CHINESE.search(w)]
    assert english == []
