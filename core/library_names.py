"""Names the Django admin shows for models of libraries whose own catalogues have no
Chinese (django-axes): listed here so `makemessages` keeps them in our catalogue, which
Django reads after the libraries' own and so prefers. `name_lockout_admin` gives the words
django-axes leaves bare (its app's name, its "status" column) at start-up."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

LIBRARY_MODEL_NAMES = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    # django-axes' columns, filters and values (its own gettext_lazy strings).
    gettext_noop("Attempt Time"),
    gettext_noop("Logout Time"),
    gettext_noop("User Agent"),
    gettext_noop("Failed Logins"),
    gettext_noop("Access lock out"),
    gettext_noop("Locked Out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Not set"),
    gettext_noop("Expires At"),
    gettext_noop("HTTP Accept"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"),
)


def name_lockout_admin() -> None:
    """django-axes' app has no verbose name (the admin shows "Axes") and its attempts list
    has a "status" column named after the method: both named in words, translatable.
    Neither is part of a migration (an app's name, an admin column's title)."""
    from axes.admin import AccessAttemptAdmin
    from django.apps import apps

    apps.get_app_config("axes").verbose_name = _("Sign-in lockouts")
    status = getattr(AccessAttemptAdmin, "status", None)
    if status is not None:
        status.short_description = _("status")
