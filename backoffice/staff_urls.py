"""Staff pages under /admin/ that are not ModelAdmins: OTP login, device enrollment, step-up.
Each app may add more through `staff_patterns` in its urls module."""

from accounts import urls as accounts_urls
from closures import urls as closures_urls
from complaints import urls as complaints_urls

urlpatterns = [
    *accounts_urls.staff_patterns,
    *complaints_urls.staff_patterns,
    *closures_urls.staff_patterns,
]
