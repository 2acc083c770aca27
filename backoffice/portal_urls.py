"""Customer portal: every app contributes `portal_patterns` from its own urls module."""

from accounts import urls as accounts_urls
from closures import urls as closures_urls
from complaints import urls as complaints_urls
from notices import urls as notices_urls

app_name = "portal"

urlpatterns = [
    *accounts_urls.portal_patterns,
    *notices_urls.portal_patterns,
    *complaints_urls.portal_patterns,
    *closures_urls.portal_patterns,
]
