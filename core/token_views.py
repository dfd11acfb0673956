from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.access import require_login
from core.models import ApiToken
from core.tokens import api_resources, api_token_create, api_token_revoke
from core.types import AuthedRequest


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What will use it, e.g. 'CRM sync'."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Access"),
        choices=[
            ("write", gettext_lazy("Read and write (everything your role may do)")),
            ("read", gettext_lazy("Read only (a dashboard, a report)")),
        ],
        initial="write",
        required=False,  # left out: a full token, as before scopes existed
        widget=forms.RadioSelect,
    )
    resources = forms.MultipleChoiceField(
        label=gettext_lazy("Resources"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None chosen: every resource your role may use."),
    )
    expires_days = forms.IntegerField(
        label=gettext_lazy("Expires after (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=gettext_lazy("Empty: the site's default."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resources"].choices = [(r, r) for r in api_resources()]  # type: ignore[attr-defined]


@require_login
def tokens(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "core/tokens.html",
        {"tokens": ApiToken.objects.filter(user=request.user), "form": TokenForm()},
    )


@require_login
@require_POST
def token_create(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "core/tokens.html",
            {"tokens": ApiToken.objects.filter(user=request.user), "form": form},
            status=400,
        )
    days = form.cleaned_data["expires_days"]
    token, key = api_token_create(
        user=request.user,
        name=form.cleaned_data["name"],
        actor=request.user,
        read_only=form.cleaned_data["scope"] == "read",
        resources=form.cleaned_data["resources"],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    # The key is rendered in this one response and never stored or shown again.
    response = render(
        request,
        "core/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=request.user),
            "form": TokenForm(),
            "new_key": key,
            "new_token": token,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_login
@require_POST
def token_revoke(request: AuthedRequest) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user, pk=request.POST.get("id") or 0).first()
    if token is None:
        messages.error(request, _("That token does not exist or is not yours."))
    else:
        api_token_revoke(token=token, actor=request.user)
        messages.success(request, _("Token revoked."))
    return redirect("tokens")
