"""The Celery app. Workers: `celery -A backoffice worker`; beat: `celery -A backoffice beat`."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["core", "notices", "accounts", "closures", "backoffice"])
# One beat sends the schedule however many nodes start one (a PostgreSQL advisory lock).
app.conf.beat_scheduler = "backoffice.beat:SingletonScheduler"

# Periodic work. Each entry calls one task that calls one service; the same services run
# synchronously from `manage.py sweep` and `manage.py run_risk_scan`.
app.conf.beat_schedule = {
    "sweep": {"task": "backoffice.sweep", "schedule": 60.0},
    # The outbox alone, more often: after a broker outage every notice is out within a minute.
    "notices-sweep": {
        "task": "notices.sweep",
        "schedule": float(os.environ.get("NOTICES_SWEEP_SECONDS", "15")),
    },
    "risk-scan": {"task": "closures.run_risk_scan", "schedule": crontab(minute=15, hour="*/6")},
    # Policy closure campaigns whose run stalled (broker outage, lost worker) resume.
    "campaigns-resume": {"task": "closures.campaigns_resume", "schedule": 300.0},
    # The overdue figures, nightly and incremental (accounts/delinquency.py), before the scan.
    "refresh-delinquency": {
        "task": "accounts.refresh_delinquency",
        "schedule": crontab(minute=5, hour=0),
    },
    # The seal chain over the activity trail (core/seals.py; `manage.py verify_audit` checks it).
    "audit-seal": {"task": "core.audit_seal", "schedule": 60.0},
}
