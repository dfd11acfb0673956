"""Registration wizard: submitPhone, then submitVerifyCode. The syncStatus webhook (applied
by the webhook processing) moves the registration to its final state."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import live as accounts_live
from accounts.events import registration_finished
from accounts.models import Registration
from core.audit import audit_record
from upstream import operations
from upstream.errors import NotSent, UpstreamError, UpstreamUnavailable, unavailable_message


class RegistrationError(Exception):
    pass


class RegistrationFinished(RegistrationError):
    """A code for a registration that is already finished."""


class RegistrationUnavailable(RegistrationError):
    """The vendor did not answer (the API says 503: try again)."""


def registration_validate_phone(*, phone: str, area_code: str, country_code: str) -> str:
    """The national number (digits) if phone + area code + country agree; else raises."""
    country = country_code.strip().upper()
    area = area_code.strip().lstrip("+")
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not area.isdigit():
        raise RegistrationError(_("The area code must be digits, like +86."))
    if len(country) != 2 or phonenumbers.country_code_for_region(country) == 0:
        raise RegistrationError(_("The country code must be a two-letter code, like CN."))
    if phonenumbers.country_code_for_region(country) != int(area):
        raise RegistrationError(
            _("Area code +%(area)s does not belong to %(country)s (expected +%(expected)s).")
            % {
                "area": area,
                "country": country,
                "expected": phonenumbers.country_code_for_region(country),
            }
        )
    if digits.startswith(area) and len(digits) > 10:
        digits = digits[len(area) :]
    try:
        parsed = phonenumbers.parse(digits, country)
    except phonenumbers.NumberParseException as exc:
        raise RegistrationError(_("This is not a phone number.")) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise RegistrationError(
            _("%(n)s is not a valid %(country)s number.") % {"n": digits, "country": country}
        )
    return str(parsed.national_number)


def registration_submit_phone(
    *,
    actor: Any,
    phone: str,
    area_code: str,
    country_code: str,
    verify_type: int,
    account_type: int,
) -> Registration:
    national = registration_validate_phone(
        phone=phone, area_code=area_code, country_code=country_code
    )
    area = "+" + area_code.strip().lstrip("+")
    country = country_code.strip().upper()
    reg = Registration(
        phone=national,
        area_code=area,
        country_code=country,
        verify_type=verify_type,
        account_type=account_type,
        created_by=actor,
    )
    # The row is saved before the call, so a webhook that follows a timed-out call (the
    # phone may have been submitted) still finds its registration.
    with transaction.atomic():
        reg.save()
        audit_record(
            actor=actor,
            action="accounts.register.phone",
            target_type="registration",
            target_id=str(reg.pk),
            after={"phone": national, "area_code": area, "state": reg.state},
        )
    try:
        reg.task_id = operations.submit_phone(
            phone=national,
            verify_type=verify_type,
            account_type=account_type,
            area_code=area,
            country_code=country,
        )
    except UpstreamError as exc:
        reg.state = Registration.State.FAILED
        reg.error = exc.message[:255]
        reg.completed_at = timezone.now()
    except NotSent as exc:  # certainly never reached the vendor
        reg.state = Registration.State.FAILED
        reg.error = unavailable_message(exc)[:255]
        reg.completed_at = timezone.now()
        _save_submitted(reg)
        raise RegistrationUnavailable(unavailable_message(exc) + " " + _("Try again.")) from exc
    except UpstreamUnavailable as exc:
        reg.error = unavailable_message(exc)[:255]
    _save_submitted(reg)
    return reg


def _save_submitted(reg: Registration) -> None:
    """Record what submitPhone answered; a refusal is a finished registration (outbox)."""
    with transaction.atomic():
        reg.save(update_fields=["task_id", "state", "error", "completed_at", "updated_at"])
        if reg.state == Registration.State.FAILED:
            registration_finished(registration=reg)  # the outbox (notify)


def registration_submit_code(*, actor: Any, registration: Registration, code: str) -> Registration:
    code = code.strip()
    if not code.isdigit() or not 4 <= len(code) <= 8:
        raise RegistrationError(_("The code is 4 to 8 digits."))
    if registration.state not in (
        Registration.State.PHONE_SUBMITTED,
        Registration.State.CODE_SUBMITTED,
    ):
        raise RegistrationFinished(_("This registration is already finished."))
    try:
        operations.submit_verify_code(
            phone=registration.phone, area_code=registration.area_code, verify_code=code
        )
    except UpstreamError as exc:
        registration.error = exc.message[:255]
        registration.save(update_fields=["error", "updated_at"])
        raise RegistrationError(exc.message) from exc
    except UpstreamUnavailable as exc:
        raise RegistrationUnavailable(
            unavailable_message(exc) + " " + _("Enter the code again if no result arrives.")
        ) from exc
    before = {"state": registration.state, "error": registration.error}
    # Only move forward: the syncStatus webhook may already have finished it.
    Registration.objects.filter(
        pk=registration.pk, state=Registration.State.PHONE_SUBMITTED
    ).update(state=Registration.State.CODE_SUBMITTED, error="", updated_at=timezone.now())
    registration.refresh_from_db()
    accounts_live.registration_changed(
        registration_id=registration.pk, owner=registration.created_by_id
    )
    audit_record(
        actor=actor,
        action="accounts.register.code",
        target_type="registration",
        target_id=str(registration.pk),
        before=before,
        after={"state": registration.state, "phone": registration.phone},
    )
    return registration
