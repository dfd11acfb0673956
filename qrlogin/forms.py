"""Forms of the QR pages. Validation of what a person types lives here; the rules on
who may do what live in the services."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from qrlogin.models import AllocationRole, PcType, QrSession

HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
PHONE_RE = re.compile(r"^\d{6,20}$")


class IsEasy:
    """getQrCodeV2 `isEasy`: how the pair code looks."""

    NATIVE = "n"
    EASY = "y"
    EIGHTS = "b"
    CHOICES = [
        (NATIVE, _("Native (WhatsApp's own code)")),
        (EASY, _("Easy (PPPP-1111)")),
        (EIGHTS, _("Fixed eights (8888-8888)")),
    ]


def parse_proxy(text: str) -> str:
    """Validate a SOCKS5 proxy `ip:port:user:pass` and return it normalised.

    The host is an IPv4 address or a hostname, the port 1-65535; user and password are
    required (the password may itself contain ':'). Messages never repeat the input.
    """
    parts = text.strip().split(":", 3)
    if len(parts) != 4:
        raise forms.ValidationError(
            _("Write the proxy as ip:port:user:pass (four parts separated by colons)."),
            code="proxy_format",
        )
    host, port_text, user, password = (p.strip() for p in parts)
    looks_numeric = bool(re.fullmatch(r"[\d.]+", host))
    if looks_numeric:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise forms.ValidationError(
                _("The proxy address is not a valid IPv4 address."), code="proxy_host"
            ) from None
    elif not HOSTNAME_RE.match(host):
        raise forms.ValidationError(
            _("The proxy address must be an IPv4 address or a host name."), code="proxy_host"
        )
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise forms.ValidationError(
            _("The proxy port must be a number from 1 to 65535."), code="proxy_port"
        )
    if not user:
        raise forms.ValidationError(_("The proxy user name is missing."), code="proxy_user")
    if not password:
        raise forms.ValidationError(_("The proxy password is missing."), code="proxy_pass")
    return f"{host}:{int(port_text)}:{user}:{password}"


class NoEchoTextInput(forms.TextInput):
    """A text box that never renders its value back (the proxy holds a password)."""

    def format_value(self, value: Any) -> str | None:
        return None


class ProxyField(forms.CharField):
    widget = NoEchoTextInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "placeholder": "ip:port:user:pass"}
        )

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        return parse_proxy(text) if text else ""


class StartForm(forms.Form):
    pc_type = forms.TypedChoiceField(
        label=_("Where the account runs"),
        choices=PcType.choices,
        coerce=int,
        initial=PcType.PC,
        widget=forms.RadioSelect,
    )
    target = forms.ChoiceField(label=_("Pairing target"), required=False)
    mode = forms.ChoiceField(
        label=_("How the phone links"),
        choices=QrSession.Mode.choices,
        initial=QrSession.Mode.QR,
        widget=forms.RadioSelect,
    )
    phone = forms.CharField(
        label=_("Phone number (pair code only)"),
        required=False,
        max_length=24,
        help_text=_("The number of the phone that will link, with country code, digits only."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel"}),
    )
    is_easy = forms.ChoiceField(
        label=_("Pair code style"),
        choices=IsEasy.CHOICES,
        initial=IsEasy.NATIVE,
        required=False,
        widget=forms.RadioSelect,
    )
    proxy = ProxyField(
        label=_("SOCKS5 proxy (optional)"),
        help_text=_(
            "ip:port:user:pass. Stored encrypted and never shown again; leave empty to let "
            "the vendor choose an address."
        ),
    )

    def __init__(self, *args: Any, targets: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = [("", str(_("No pairing target")))]
        self.fields["target"].choices = choices + targets  # type: ignore[attr-defined]
        if targets:
            self.fields["target"].initial = targets[0][0]

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s\-()]", "", self.cleaned_data.get("phone") or "").lstrip("+")
        if phone and not PHONE_RE.match(phone):
            raise forms.ValidationError(
                _("Write the phone number with its country code, 6 to 20 digits."),
                code="phone",
            )
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == QrSession.Mode.PAIR:
            if not data.get("phone") and "phone" not in self.errors:
                self.add_error("phone", _("A pair code needs the phone number that will link."))
            if not data.get("is_easy"):
                data["is_easy"] = IsEasy.NATIVE
        else:
            data["phone"] = ""
            data["is_easy"] = ""
        return data


class PortOnlineForm(forms.Form):
    proxy = ProxyField(label=_("SOCKS5 proxy (optional)"))


class ScanTaskForm(forms.Form):
    """Supervisors choose random or a specified agent; agents get no choice at all (the
    view hands them a form without fields and the service fills in their own id)."""

    allocation_role = forms.TypedChoiceField(
        label=_("Which agent gets the account"),
        choices=AllocationRole.choices,
        coerce=int,
        initial=AllocationRole.SPECIFIED,
        widget=forms.RadioSelect,
    )
    user_id = forms.ChoiceField(label=_("Agent"), required=False)

    def __init__(self, *args: Any, agents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_id"].choices = [("", "—"), *agents]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("allocation_role") == AllocationRole.SPECIFIED and not data.get("user_id"):
            self.add_error("user_id", _("Choose the agent who gets the account."))
        if data.get("allocation_role") == AllocationRole.RANDOM:
            data["user_id"] = ""
        return data
