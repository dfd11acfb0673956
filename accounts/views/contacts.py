"""Contact look-ups from the account page."""

from __future__ import annotations

from django.http import (
    HttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts import selectors
from accounts.access import get_account_for_user
from accounts.forms import (
    ContactLookupForm,
)
from accounts.services import contacts as contact_services
from core.access import require
from core.ratelimit import retry_after
from core.roles import Cap
from core.types import AuthedRequest


@require(Cap.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def account_contacts(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    account = get_account_for_user(request.user, whatsapp)
    if request.method == "GET" and request.GET.get("part") == "results":  # live refresh
        context = {"account": account, "lookups": selectors.contact_lookups(account=account)}
        return render(request, "accounts/detail.html#contact_results", context)
    form = ContactLookupForm(request.POST or None)
    error, wait = "", 0
    if request.method == "POST" and form.is_valid():
        try:
            contact_services.contact_lookup_request(
                actor=request.user,
                account=account,
                kind=form.cleaned_data["kind"],
                phone=form.cleaned_data.get("phone") or "",
                confirmed=bool(form.cleaned_data.get("confirm")),
            )
            form = ContactLookupForm()
        except contact_services.LookupError_ as exc:
            error = str(exc)
            wait = getattr(exc, "retry_after", 0)
    lookup_rows = selectors.contact_lookups(account=account)
    context = {
        "account": account,
        "contact_form": form,
        "contact_error": error,
        "lookups": lookup_rows,
        "can_manage": True,
    }
    status = (429 if wait else 400) if error else 200
    resp = render(request, "accounts/detail.html#contacts", context, status=status)
    return retry_after(resp, wait) if wait else resp
