from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Back-office")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Library plumbing only: keep the role groups in step with backoffice.roles after migrate.
        from django.db.models.signals import post_migrate

        from . import roles

        post_migrate.connect(roles.roles_sync_after_migrate, sender=self)


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with our OTP-enforcing site as the default `admin.site`."""

    default = False  # not the default config of the backoffice app itself

    default_site = "backoffice.admin_site.StaffAdminSite"
