from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Access and audit")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import core.api  # noqa: F401 - registers the OpenAPI token auth scheme
        from core.checks import refuse_to_start_if_unsafe
        from core.groups import ensure_groups
        from core.library_names import name_lockout_admin

        # Groups and their permissions are configuration, kept in code: re-applied
        # after every migrate so a deploy can never drift from docs/design.md section 6.
        post_migrate.connect(ensure_groups, sender=self)
        # The current and coming months of every partitioned table exist once migrated.
        post_migrate.connect(_history_partitions_ensure, sender=self)
        # The admin pages of django-axes named in the reader's language.
        name_lockout_admin()
        # SWITCHBOARD_ENV=production: no process starts with a demo, empty or short secret.
        refuse_to_start_if_unsafe()


def _history_partitions_ensure(**_: object) -> None:
    from core.partitions import partitions_ensure

    partitions_ensure()
