from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from notify.models import EventType, RuleKey


class SubscriptionForm(forms.Form):
    url = forms.CharField(label=_("URL"), max_length=1000)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)


class ChannelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("Apprise URL"),
        max_length=2000,
        required=False,
        widget=forms.PasswordInput(
            attrs={"placeholder": "dingtalk://token/ · wecombot://key · json://host/path"}
        ),
        help_text=_("Kept encrypted and never shown again. Leave empty to keep the stored one."),
    )
    rules = forms.MultipleChoiceField(
        label=_("Rules"),
        choices=RuleKey.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    # The reader's words for each language (settings.LANGUAGES: the same codes as the model).
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)


class RuleForm(forms.Form):
    key = forms.ChoiceField(choices=RuleKey.choices, widget=forms.HiddenInput)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    threshold = forms.IntegerField(label=_("Threshold"), min_value=0, max_value=10**6)
    window_minutes = forms.IntegerField(label=_("Window (minutes)"), min_value=0, max_value=10**5)
    quiet_minutes = forms.IntegerField(
        label=_("Quiet interval (minutes)"), min_value=1, max_value=10**5
    )
    agent_account = forms.CharField(label=_("Agent (spike only)"), max_length=64, required=False)
