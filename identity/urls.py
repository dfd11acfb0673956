from django.contrib.auth import views as auth_views
from django.urls import include, path

from identity import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    # Before the Django admin's URLs: there is one sign-in (the console's, with the second
    # factor) and one password reset (Django's, by e-mail).
    path("admin/login/", views.admin_login, name="admin-login"),
    path("auth/", include("identity.allauth_urls")),
    path("security/", views.security, name="security"),
    path("security/time-zone/", views.security_time_zone, name="security-time-zone"),
    path(
        "security/sign-out-everywhere/",
        views.security_sign_out_everywhere,
        name="sign-out-everywhere",
    ),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
