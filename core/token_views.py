from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.access import require_login
from core.models import ApiToken
from core.tokens import api_token_create, api_token_revoke
from core.types import AuthedRequest


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What will use it, e.g. 'CRM sync'."),
    )


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
    token, key = api_token_create(
        user=request.user, name=form.cleaned_data["name"], actor=request.user
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
