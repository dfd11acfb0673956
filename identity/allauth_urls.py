"""The parts of django-allauth the console uses, under /auth/: the second factor, the
password check before changing it, single sign-on's login and callback, and the names its
code reverses (account_login is the console's sign-in). Not its sign-up, e-mail management,
password pages or session list: the console has its own (identity/urls.py)."""

from allauth.account import views as account_views
from allauth.socialaccount import views as social_views
from allauth.urls import build_provider_urlpatterns
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path(
        "login/",
        RedirectView.as_view(pattern_name="login", query_string=True),
        name="account_login",
    ),
    path("logout/", account_views.logout, name="account_logout"),
    path("inactive/", account_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", account_views.reauthenticate, name="account_reauthenticate"),
    path("2fa/", include("allauth.mfa.urls")),
    path(
        "3rdparty/login/cancelled/",
        social_views.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("3rdparty/login/error/", social_views.login_error, name="socialaccount_login_error"),
    path("3rdparty/signup/", social_views.signup, name="socialaccount_signup"),
    *build_provider_urlpatterns(),
]
