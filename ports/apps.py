from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortsConfig(AppConfig):
    """Cloud ports: the quota, the occupied ports and the port operations, owned here for
    every page that shows or operates a port (the Ports page, the account page, bulk jobs,
    reconcile). Below accounts and qrlogin (docs/design.md, "Layers")."""

    name = "ports"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Cloud ports")
