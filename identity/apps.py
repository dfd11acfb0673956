from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = _("Sign-in")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from identity import signals  # noqa: F401  (connects the receivers)

        name_second_factors()


def name_second_factors() -> None:
    """django-allauth's Authenticator has no verbose names (the admin shows
    "authenticators", "created at"): named here in words our catalogue translates. Set on
    the loaded model only: `verbose_name` kept apart from the migration state (Meta's
    original attributes, each field's `_verbose_name`), so no migration follows."""
    from allauth.mfa.models import Authenticator

    meta = Authenticator._meta
    meta.verbose_name = _("second factor")
    meta.verbose_name_plural = _("second factors")
    for name, words in (
        ("user", _("user")),
        ("type", _("kind")),
        ("created_at", _("added")),
        ("last_used_at", _("last used")),
    ):
        meta.get_field(name).verbose_name = words
