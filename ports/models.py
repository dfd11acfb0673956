"""Cloud ports as the vendor lists them (docs/qrlogin.md, "Ports"). The tables keep the
names the QR login app gave them when it owned ports."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortStatus(models.IntegerChoices):
    ONLINE = 10, _("Online")
    DISCONNECTED = 20, _("Disconnected")


class CloudPort(models.Model):
    """An occupied cloud port (selectCloudPortDetail), keyed by the vendor's id as a string.

    Two ids: `port_id` is selectCloudPortDetail's "port application id" (19 digits); the
    port operations (onLine, offline, logOut, selectContact, contact/info, info/profile)
    take `pregenerate_id`, the id preGenerate issued (32 hex), known only for a login made
    through Switchboard (the QR session's `port_id`)."""

    port_id = models.CharField(max_length=32, unique=True)
    pregenerate_id = models.CharField(max_length=64, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True)
    status = models.PositiveSmallIntegerField(choices=PortStatus.choices, null=True, blank=True)
    created_at_upstream = models.DateTimeField(null=True, blank=True, db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    released = models.BooleanField(default=False)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cloud port")
        verbose_name_plural = _("cloud ports")
        db_table = "qrlogin_cloudport"  # made by the QR login app, which first owned ports
        ordering = ["created_at_upstream", "port_id"]

    def __str__(self) -> str:
        return self.port_id


class PortQuota(models.Model):
    """selectCloudPort: the tenant's port usage, one row, refreshed by reconcile."""

    current_port = models.PositiveIntegerField(default=0)
    max_port = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("port quota")
        verbose_name_plural = _("port quotas")
        db_table = "qrlogin_portquota"

    def __str__(self) -> str:
        return f"{self.current_port}/{self.max_port}"
