"""Contact look-ups on an account's cloud port (selectContact, contact/info).

The vendor warns these may trigger WhatsApp's risk control, so each needs an explicit
confirmation, is limited per account (one every CONTACT_LOOKUP_INTERVAL seconds, kept in
the cache), runs on the SLOW queue and stores its result with the time it was fetched.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import live as accounts_live
from accounts.models import ContactLookup, WhatsAppAccount
from accounts.services.fleet import cloud_port_for, port_call_id_for
from accounts.services.imports import normalise_number
from core.audit import audit_record
from core.ratelimit import TryLater
from core.tasks import enqueue_on_commit
from ports.services import PortNotLinked, port_call
from upstream import operations
from upstream.errors import UpstreamError, UpstreamUnavailable, unavailable_message


class LookupError_(Exception):
    pass


class LookupTooSoon(TryLater, LookupError_):
    """A look-up ran for this account less than CONTACT_LOOKUP_INTERVAL seconds ago."""


def lookup_interval() -> int:
    return int(settings.CONTACT_LOOKUP_INTERVAL)


def contact_lookup_request(
    *, actor: Any, account: WhatsAppAccount, kind: str, phone: str = "", confirmed: bool
) -> ContactLookup:
    if not confirmed:
        raise LookupError_(
            _("Confirm that you understand the look-up may trigger WhatsApp's risk control.")
        )
    if kind not in ContactLookup.Kind.values:
        raise LookupError_(_("Unknown look-up."))
    number = ""
    if kind == ContactLookup.Kind.SINGLE:
        number = normalise_number(phone) or ""
        if not number:
            raise LookupError_(_("Enter the contact's number with its country code."))
    if cloud_port_for(account.whatsapp) is None:
        raise LookupError_(
            _("This account has no cloud port: contacts can only be read through a cloud port.")
        )
    try:
        port_call_id_for(account.whatsapp)
    except PortNotLinked as exc:
        raise LookupError_(str(exc)) from None
    key = f"contacts:rl:{account.pk}"
    if not cache.add(key, time.time(), timeout=lookup_interval()):
        ran_at = cache.get(key)
        since = time.time() - ran_at if isinstance(ran_at, float) else 0.0
        raise LookupTooSoon(
            _("A look-up ran for this account less than %(s)s seconds ago.")
            % {"s": lookup_interval()},
            retry_after=lookup_interval() - since,
        )

    with transaction.atomic():
        lookup = ContactLookup.objects.create(
            account=account, kind=kind, phone=number, requested_by=actor
        )
        audit_record(
            actor=actor,
            action=f"accounts.contacts.{kind}",
            target_type="whatsapp_account",
            target_id=account.whatsapp,
            after={"phone": number} if number else None,
        )
        enqueue_on_commit("accounts.tasks.fleet.contact_lookup_run", lookup.pk)
        accounts_live.lookup_changed(whatsapp=account.whatsapp)  # other open pages show it queued
    return lookup


def contact_lookup_run(*, lookup_id: int) -> ContactLookup | None:
    lookup = ContactLookup.objects.select_related("account").filter(pk=lookup_id).first()
    if lookup is None or lookup.state != ContactLookup.State.QUEUED:
        return lookup
    port = cloud_port_for(lookup.account.whatsapp)
    try:
        if port is None:
            raise UpstreamError(0, _("The account's cloud port is gone."))
        if lookup.kind == ContactLookup.Kind.BOOK:
            contacts, _sent = port_call(
                port=port, send=lambda ident: operations.select_contact(id=ident)
            )
        else:
            one, _sent = port_call(
                port=port,
                send=lambda ident: operations.contact_info(id=ident, phone=lookup.phone),
            )
            contacts = [one] if one is not None else []
        lookup.results = [asdict(c) for c in contacts]
        lookup.state = ContactLookup.State.DONE
    except PortNotLinked as exc:
        lookup.state = ContactLookup.State.FAILED
        lookup.error = str(exc)[:255]
    except UpstreamError as exc:
        lookup.state = ContactLookup.State.FAILED
        lookup.error = exc.message[:255]
    except UpstreamUnavailable as exc:
        lookup.state = ContactLookup.State.FAILED
        lookup.error = (unavailable_message(exc) + " " + _("Try again later."))[:255]
    lookup.fetched_at = timezone.now()
    lookup.save(update_fields=["results", "state", "error", "fetched_at"])
    accounts_live.lookup_changed(whatsapp=lookup.account.whatsapp)
    return lookup
