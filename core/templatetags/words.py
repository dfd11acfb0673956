"""`{{ text|translated }}`: a text stored in English by a service (a fixed sentence marked
with gettext_noop where it is made) shown in the reader's language. A text the catalogue
does not hold, such as the vendor's own words, is shown as stored."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def translated(text: str | None) -> str:
    return gettext(text) if text else ""
