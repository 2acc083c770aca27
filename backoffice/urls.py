"""The root URLconf: health, the staff admin, the portal, the API and its schema, i18n."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import health

# DEBUG off: a database outage answers 503, the API's other errors its JSON body; under
# /portal/ every error is a page in the portal's layout that keeps what was typed.
handler500 = "backoffice.middleware.server_error"
handler400 = "backoffice.middleware.bad_request"
handler403 = "backoffice.middleware.permission_denied"
handler404 = "backoffice.middleware.page_not_found"


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages that name none; the name is looked up per request
    (the manifest storage knows it only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("portal/favicon.svg"))


# The portal and the API are assembled from each app's own url modules, under one namespace each.
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("admin/", include("backoffice.staff_urls")),
    path("admin/", admin.site.urls),
    path("portal/", include("backoffice.portal_urls")),
    path("api/v1/", include("backoffice.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (no inline script: the CSP holds).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
]
