"""REST API v1: every app contributes `api_patterns` from its own urls module."""

from accounts import urls as accounts_urls
from closures import urls as closures_urls
from complaints import urls as complaints_urls
from notices import urls as notices_urls

app_name = "api"

urlpatterns = [
    *accounts_urls.api_patterns,
    *notices_urls.api_patterns,
    *complaints_urls.api_patterns,
    *closures_urls.api_patterns,
]
