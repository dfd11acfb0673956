from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

urlpatterns = [
    path("", include("console.urls")),
    path("", include("core.urls")),
    # Sign-in, second factor, single sign-on, password reset, sessions (docs/identity.md).
    path("", include("identity.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The strings of static/js in the reader's language (locale/*/djangojs.po).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    # The schema and its docs page: signed-in users only (session or token).
    path(
        "api/v1/schema/",
        SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
        name="schema",
    ),
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", permission_classes=[IsAuthenticated]
        ),
        name="api-docs",
    ),
    path("api/v1/", include("config.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("qr/", include("qrlogin.urls")),
    path("actions/", include("actions.urls")),
    path("notify/", include("notify.urls")),
    # The webhooks app mounts its receivers at the vendor's fixed paths (docs/design.md section 3)
    # and its inbox pages under /webhooks/.
    path("", include("webhooks.urls")),
]

# Errors as pages in the site's layout (templates/errors/error.html).
handler403 = "core.error_views.forbidden"
handler404 = "core.error_views.not_found"
handler500 = "core.error_views.server_error"
