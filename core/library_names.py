"""Names the Django admin shows for models of libraries whose own catalogues have no
Chinese (django-axes): listed here so `makemessages` keeps them in our catalogue, which
Django reads after the libraries' own and so prefers."""

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
)
