"""The back-office app (the top layer: wiring) and the admin config that installs our
OTP-enforcing admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Back-office")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Library plumbing only: keep the role groups in step with backoffice.roles after migrate.
        # Imported here, not at the top: roles needs the auth models, loaded only by now.
        from . import checks  # noqa: F401  (registers the deploy checks)
        from .customer_page import customer_page_register
        from .roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="backoffice.roles_sync")
        # The stories' sections of the customer page (accounts may not import the stories).
        customer_page_register()


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with our OTP-enforcing site as the default `admin.site`."""

    default = False  # not the default config of the backoffice app itself

    default_site = "backoffice.admin_site.StaffAdminSite"
