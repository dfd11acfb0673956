"""Django's makemessages without msgmerge's fuzzy guesses: a new message starts
untranslated (translate it in the .po, the catalogue's source of truth, with any gettext
editor) rather than borrowing the translation of a similar-looking one, which reads as a
wrong answer in Chinese."""

from __future__ import annotations

from django.core.management.commands.makemessages import Command as BaseCommand


class Command(BaseCommand):
    msgmerge_options = [*BaseCommand.msgmerge_options, "--no-fuzzy-matching"]
