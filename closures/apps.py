"""The closures app: closures of credit accounts (the customer's own request and the platform's
proposals), their appeals and the abnormal-closure alerts. Its layer is above accounts, notices
and core, beside complaints (which it never imports).

Layout: models, enums, services/ (every write, by sub-domain), events (one function per case
event), locks (every row lock, in the global order), selectors (reads), anomaly (alert rules),
risk_scan (the set-based scan), sweeps and tasks (periodic work), admin, views and forms
(portal), api (DRF), notice_events and templates/notices (what the customer is told)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from accounts import hooks


class ClosuresConfig(AppConfig):
    name = "closures"
    verbose_name = _("Closures")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # closures reacts to the ledger through accounts' registries (imports point down only).
        # Our own modules that load models are imported once the app registry is ready.
        from .demo import demo_closed_for_overdue
        from .selectors import closure_staff_with_stake
        from .services import closure_settle_on_zero_balance

        hooks.on_balance_settled(closure_settle_on_zero_balance)
        hooks.stake_provider(closure_staff_with_stake)
        hooks.demo_story("closed_for_overdue", demo_closed_for_overdue)  # Bob, in seed_demo
        from .demo import demo_product_change_campaign

        hooks.demo_story("product_change_campaign", demo_product_change_campaign)
        # A closure code dropped unsent at its expiry dies with its notice (issue 14 item 12).
        from notices.hooks import on_expired

        from .services import closure_code_notice_expired

        on_expired["closure.code"].append(closure_code_notice_expired)
