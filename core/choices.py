"""Labels for code tables (Django Choices), shared by every app's pages and API."""

from django.db import models
from django.utils.translation import gettext as _


def label(choices: type[models.Choices], value: object) -> str:
    """Label for a code, tolerating values outside the documented table."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(_("Unknown (%(code)s)") % {"code": value}) if value not in (None, "") else ""
