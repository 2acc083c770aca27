from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClosuresConfig(AppConfig):
    name = "closures"
    verbose_name = _("Closures")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # closures reacts to the ledger through accounts' registries (imports point down only).
        from accounts import hooks

        from .selectors import closure_staff_with_stake
        from .services import closure_settle_on_zero_balance

        hooks.on_balance_settled(closure_settle_on_zero_balance)
        hooks.stake_provider(closure_staff_with_stake)
