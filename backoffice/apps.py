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

        # After the LAST app's post_migrate: the permissions of every app (accounts, complaints,
        # closures come after backoffice) exist only once their own post_migrate has run.
        post_migrate.connect(_roles_sync_after_last_app, dispatch_uid="backoffice.roles_sync")


def _roles_sync_after_last_app(sender, **kwargs) -> None:
    from django.apps import apps

    from . import roles

    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if with_models and sender is with_models[-1]:
        roles.roles_sync_after_migrate(sender=sender, **kwargs)


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with our OTP-enforcing site as the default `admin.site`."""

    default = False  # not the default config of the backoffice app itself

    default_site = "backoffice.admin_site.StaffAdminSite"
