"""Avatar and nickname, changed in place from the account page."""

from __future__ import annotations

import json

from django.http import (
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_account_for_user
from accounts.forms import (
    ProfileForm,
)
from accounts.services import fleet as fleet_services
from accounts.services.profile import profile_update_queue
from core.access import require
from core.roles import Cap
from core.types import AuthedRequest


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_profile_update(request: AuthedRequest, whatsapp: str) -> HttpResponse:
    account = get_account_for_user(request.user, whatsapp)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            job = profile_update_queue(actor=request.user, accounts=[account], **form.cleaned_data)
        except fleet_services.JobError as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                # A change made in place stays on the page: a fresh form, a link to the job
                # and a toast; no jump to the job page.
                resp = render(
                    request,
                    "accounts/detail.html#profile_form",
                    {
                        "account": account,
                        "profile_form": ProfileForm(),
                        "can_manage": True,
                        "profile_job": job,
                    },
                )
                resp["HX-Trigger"] = json.dumps(
                    {"sb:toast": {"message": str(_("Avatar and nickname sent to the vendor."))}}
                )
                return resp
            return redirect("accounts:job", job_id=job.pk)
    # The errors go beside the form (htmx swaps 400 answers in place: base.html).
    return render(
        request,
        "accounts/detail.html#profile_form",
        {"account": account, "profile_form": form, "can_manage": True},
        status=400,
    )
