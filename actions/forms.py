"""Forms of the actions pages: they read the input; the rules live in
`actions.services.intake` (one service for the form, the CSV upload and the API)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import Platform
from actions.models import State
from actions.services import intake


class ActionForm(forms.Form):
    agent_account = forms.CharField(label=_("Agent account"), max_length=64)
    whatsapp = forms.CharField(
        label=_("WhatsApp account"),
        max_length=32,
        help_text=_("The customer-service number, 6 to 20 digits."),
    )
    friend_whatsapp = forms.CharField(
        label=_("Friend's number"),
        max_length=32,
        help_text=_("The customer to open a chat with, 6 to 20 digits."),
    )
    platform = forms.TypedChoiceField(
        label=_("Platform"), choices=Platform.choices, coerce=int, initial=Platform.PC
    )
    content = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=intake.CONTENT_MAX_LENGTH,
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("whatsapp", "friend_whatsapp"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "pattern": r"\d{6,20}"})

    def add_intake_errors(self, errors: dict[str, list[str]]) -> None:
        """The service's verdict on the row, beside the fields it names."""
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, first line: agentAccount,whatsId,friendWhatsId,platformType,content. "
            "At most 10,000 lines."
        ),
    )
    confirm_offline = forms.BooleanField(
        label=_("Queue even if some accounts are not online by our state"), required=False
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > intake.CSV_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s bytes; the limit is %(max)s bytes. Split it.")
                % {"size": f"{upload.size:,}", "max": f"{intake.CSV_MAX_BYTES:,}"}
            )
        return upload


class FilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any state")), *State.choices]
    )
    agent_account = forms.CharField(label=_("Agent account"), required=False, max_length=64)
    whatsapp = forms.CharField(label=_("Number"), required=False, max_length=32)
    batch = forms.IntegerField(label=_("Batch"), required=False, min_value=1)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class MarkFailedForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
