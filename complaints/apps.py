"""The complaints app: complaints and disputes of loan records (see complaints/models.py).

Layout: `models.py`, `enums.py` (statuses, transitions), `clock.py` (the day counts),
`services/` (every write), `events.py` (case events, one function per type), `locks.py`
(row locks, global order), `selectors.py` (reads), `evidence.py` (a disputed loan's trail and
indicators), `sweeps.py` (reminders and escalations), `case_actions.py` and `admin.py` (the
agents' pages), `forms.py`, `views.py` (portal), `api.py` (DRF), `notice_events.py`,
`roles.py`. complaints imports accounts, notices and core, never closures or backoffice.
"""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from accounts import hooks


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Other apps' pages list an account's complaints through accounts' registry. (Inside
        # ready(): selectors import the models, which cannot load before the app registry.)
        from .selectors import complaints_about_account
        from .services.departures import complaints_release_of_departed

        hooks.case_provider("complaints", complaints_about_account)
        hooks.on_staff_departure(complaints_release_of_departed)
        # The partner-interface register's page shows an interface's disputes and incidents.
        from accounts import partners

        from .partner_figures import dispute_figures, incidents_about_interface

        partners.dispute_figures_provider(dispute_figures)
        partners.incident_provider(incidents_about_interface)
        # seed_demo's lending-core walk files its complaints through our intake.
        from .demo import demo_loan_complaint

        hooks.demo_story("loan_complaint", demo_loan_complaint)
