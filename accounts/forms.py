"""Forms of the accounts console (validation only; the work is in services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import (
    AccountStatus,
    AccountType,
    DetailStatus,
    OnlineStatus,
    Platform,
    Presence,
    Source,
    VerifyType,
)
from accounts.selectors import (
    FLEET_SORTS,
    FLEET_STATES,
    RECYCLED,
    EventFilters,
    FleetFilters,
)


def _blank(choices: Any, label: Any) -> list[tuple[Any, Any]]:
    return [("", label), *choices]


def _code_filter(label: Any, choices: Any, any_label: Any) -> forms.TypedChoiceField:
    """An optional filter on one of the vendor's integer code tables."""
    return forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=label,
        choices=_blank(choices, any_label),
    )


_STATE_LABELS = {
    "online": _("Online"),
    "disconnected": _("Disconnected"),
    "logging_in": _("Logging in"),
    "logging_out": _("Logging out"),
    "offline": _("Offline"),
    "unknown": _("Login state unknown"),
    "banned": _("Banned"),
    "recycled": _("Recycled"),
}


class FleetFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=64,
        label=_("Search"),
        widget=forms.TextInput(
            attrs={"placeholder": _("Number or name"), "type": "search", "autocomplete": "off"}
        ),
    )
    status = _code_filter(_("Status"), AccountStatus.choices, _("Any status"))
    online_status = _code_filter(
        _("Online status"),
        [*OnlineStatus.choices, (RECYCLED, _("Recycled"))],
        _("Any online status"),
    )
    presence = _code_filter(_("Presence"), Presence.choices, _("Any presence"))
    # The state tiles' own filter: each tile links to its rows (accounts.selectors.fleet_state).
    # The states come from the selector; a state added there without a label here fails at import.
    state = forms.ChoiceField(
        required=False,
        label=_("Overall state"),
        choices=[("", _("Any state")), *((s, _STATE_LABELS[s]) for s in FLEET_STATES)],
    )
    agent = forms.CharField(
        required=False,
        max_length=64,
        label=_("Agent"),
        widget=forms.TextInput(attrs={"list": "agent-options", "placeholder": _("Any agent")}),
    )
    platform = _code_filter(_("Platform"), Platform.choices, _("Any platform"))
    source = _code_filter(_("Online at"), Source.choices, _("Any source"))
    account_type = _code_filter(_("Account type"), AccountType.choices, _("Any type"))
    country = forms.CharField(
        required=False,
        max_length=64,
        label=_("Country"),
        widget=forms.TextInput(attrs={"list": "country-options", "placeholder": _("Any country")}),
    )
    sort = forms.ChoiceField(
        required=False,
        label=_("Sort"),
        choices=[
            ("whatsapp", _("Number ↑")),
            ("-whatsapp", _("Number ↓")),
            ("name", _("Name ↑")),
            ("-name", _("Name ↓")),
            ("-last_event_at", _("Latest event first")),
            ("last_event_at", _("Oldest event first")),
            ("-id", _("Newest accounts first")),
        ],
    )

    # What an agent's own fleet cannot be narrowed by: they are the only agent in it, and
    # where their accounts are online is what their QR / pair-code logins chose.
    AGENT_HIDDEN = ("agent", "source")

    def __init__(self, *args: Any, agent_view: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if agent_view:
            for name in self.AGENT_HIDDEN:
                del self.fields[name]

    @classmethod
    def field_names(cls, *, agent_view: bool) -> list[str]:
        """The fields such a form has, without building one."""
        hidden = cls.AGENT_HIDDEN if agent_view else ()
        return [name for name in cls.base_fields if name not in hidden]

    def filters(self) -> FleetFilters:
        if not self.is_valid():
            # Unknown values (a stale link) are dropped, never a 500.
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        else:
            data = self.cleaned_data
        sort = data.get("sort") or "whatsapp"
        return FleetFilters(
            status=data.get("status"),
            online_status=data.get("online_status"),
            presence=data.get("presence"),
            state=data.get("state") or "",
            agent=(data.get("agent") or "").strip(),
            platform=data.get("platform"),
            source=data.get("source"),
            account_type=data.get("account_type"),
            country=(data.get("country") or "").strip(),
            q=data.get("q") or "",
            sort=sort if sort in FLEET_SORTS else "whatsapp",
        )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Accounts file (JSON or CSV)"),
        help_text=_(
            'JSON as {"whatsAppList": [...]} (the batchInsert shape), or CSV with the same columns.'
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.csv,application/json,text/csv"}),
    )
    replace_keys = forms.BooleanField(
        required=False,
        label=_("Set or replace the keys of accounts already known"),
        help_text=_(
            "Accounts created by a reconcile, a registration or a webhook have no keys: this "
            "sets them. Accounts with other keys get the file's keys (audited)."
        ),
    )


class ProfileForm(forms.Form):
    device_type = forms.TypedChoiceField(
        coerce=int,
        label=_("Device"),
        choices=[(0, _("Physical device")), (1, _("Cloud port (must be online)"))],
        initial=0,
    )
    avatar = forms.URLField(
        required=False,
        label=_("Avatar URL"),
        max_length=1000,
        assume_scheme="https",
        help_text=_("A reachable image, square: 16, 32, 64 or 128 px."),
    )
    nickname = forms.CharField(required=False, max_length=100, label=_("Nickname"))


class ContactLookupForm(forms.Form):
    kind = forms.ChoiceField(choices=[("book", _("Address book")), ("single", _("One contact"))])
    phone = forms.CharField(required=False, max_length=32, label=_("Contact number"))
    confirm = forms.BooleanField(
        required=False,
        label=_("I understand this look-up may trigger WhatsApp's risk control on this account."),
    )


class RegistrationPhoneForm(forms.Form):
    country_code = forms.CharField(
        max_length=2,
        min_length=2,
        label=_("Country code"),
        initial="CN",
        help_text=_("Two letters, like CN or CO."),
    )
    area_code = forms.CharField(max_length=6, label=_("Area code"), initial="+86")
    phone = forms.CharField(max_length=20, label=_("Phone number"))
    verify_type = forms.TypedChoiceField(
        coerce=int, label=_("Verification"), choices=VerifyType.choices, initial=VerifyType.SMS
    )
    account_type = forms.TypedChoiceField(
        coerce=int,
        label=_("Account type"),
        choices=AccountType.choices,
        initial=AccountType.PERSONAL,
    )


class VerifyCodeForm(forms.Form):
    code = forms.CharField(
        max_length=8,
        label=_("Verification code"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class EventFilterForm(forms.Form):
    whatsapp = forms.CharField(required=False, max_length=32, label=_("Account"))
    agent = forms.CharField(required=False, max_length=64, label=_("Agent"))
    status = _code_filter(_("Status"), Presence.choices, _("Any status"))
    detail_status = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Detail"),
        choices=_blank(
            [(c.value, f"{c.value} · {c.label}") for c in DetailStatus], _("Any detail")
        ),
    )
    since = forms.DateTimeField(
        required=False,
        label=_("From"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        required=False,
        label=_("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def filters(self) -> EventFilters:
        data = (
            self.cleaned_data
            if self.is_valid()
            else {
                k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors
            }
        )
        return EventFilters(
            whatsapp=(data.get("whatsapp") or "").strip().lstrip("+"),
            agent=(data.get("agent") or "").strip(),
            status=data.get("status"),
            detail_status=data.get("detail_status"),
            since=data.get("since"),
            until=data.get("until"),
        )


class AgentAddForm(forms.Form):
    """Add an agent the vendor has not reported yet; the service checks the rest."""

    agent_account = forms.CharField(label=_("Agent account"), max_length=200)
    user_id = forms.CharField(
        label=_("User id (the vendor's agent id)"), max_length=200, required=False
    )
    user_name = forms.CharField(label=_("Name"), max_length=500, required=False)
