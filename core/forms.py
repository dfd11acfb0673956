from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Django's form; the template adds autocomplete hints and autofocus."""
