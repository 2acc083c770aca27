from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Other apps' pages list an account's complaints through accounts' registry.
        from accounts import hooks

        from .selectors import complaints_about_account

        hooks.case_provider("complaints", complaints_about_account)
