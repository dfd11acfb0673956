"""Registering a new number: phone, verification code, result."""

from __future__ import annotations

from django.contrib import messages
from django.http import (
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import selectors
from accounts.forms import (
    RegistrationPhoneForm,
    VerifyCodeForm,
)
from accounts.models import Registration
from accounts.services import registration as registration_services
from core.access import (
    get_visible_or_404,
    require,
)
from core.htmx import render_poll
from core.roles import Cap
from core.types import AuthedRequest


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def register(request: AuthedRequest) -> HttpResponse:
    form = RegistrationPhoneForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reg = registration_services.registration_submit_phone(
                    actor=request.user, **form.cleaned_data
                )
            except registration_services.RegistrationError as exc:
                form.add_error("phone", str(exc))
                status = 400
            else:
                if reg.state == Registration.State.FAILED:
                    messages.error(request, reg.error)
                return redirect("accounts:registration", pk=reg.pk)
        else:
            status = 400
    history = list(selectors.registrations_visible_to(request.user)[:50])
    return render(
        request, "accounts/register.html", {"form": form, "history": history}, status=status
    )


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def registration_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    reg = get_visible_or_404(request.user, Registration.objects.all(), pk=pk)
    form = VerifyCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            reg = registration_services.registration_submit_code(
                actor=request.user, registration=reg, code=form.cleaned_data["code"]
            )
            return redirect("accounts:registration", pk=reg.pk)
        except registration_services.RegistrationError as exc:
            form.add_error("code", str(exc))
            status = 400
    elif request.method == "POST":
        status = 400
    context = {
        "reg": reg,
        "form": form,
        "final": reg.state in (Registration.State.SUCCEEDED, Registration.State.FAILED),
        "account": (
            selectors.registration_account(reg)
            if reg.state == Registration.State.SUCCEEDED
            else None
        ),
    }
    if request.htmx and request.method == "GET":
        return render_poll(
            request, "accounts/registration.html#status", context, done=context["final"]
        )
    return render(request, "accounts/registration.html", context, status=status)


# --- agents ---------------------------------------------------------------------------
