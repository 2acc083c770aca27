"""Case events get typed fields instead of the 64-character `old`/`new` strings (issue 9).

Step 1 of 2: add the typed fields, then carry every existing event over (and its history rows,
which repeat it): statuses to from_status/to_status, usernames to the assignee FKs, ISO dates
to due_at/previous_due_at, the pause reason, the drafted or decided outcome, the loan record
(found by the reference that was the event's text) with its status change, the review decided.
The old withdrawal event, recorded as `closed` -> `withdrawn`, becomes a `withdrawn` event.
0005 then drops `old` and `new`. (Two migrations: PostgreSQL refuses to drop a column of a table
with rows updated in the same transaction while deferred FK checks are pending.)
"""

from datetime import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The values as they were when this migration was written (migrations do not import the app).
STATUSES = {
    "received", "investigating", "pending_approval", "decided", "under_review", "closed",
    "withdrawn",
}
OUTCOMES = {"upheld", "partially_upheld", "rejected", "withdrawn"}
PAUSE_REASONS = {"appraisal", "mediation"}
LOAN_STATUSES = {"posted", "disputed", "reversed", "repaid"}
STATUS_CHANGES = {"submitted", "returned", "closed", "review_requested"}
DUE_CHANGES = {"extended", "resumed"}
DUE_ONLY = {"reminder", "escalated"}
LOAN_EVENTS = {"loan_disputed", "loan_reversed"}
TYPED = [
    "type", "text", "from_status", "to_status", "assignee", "previous_assignee", "due_at",
    "previous_due_at", "pause_reason", "outcome", "loan", "loan_from_status", "loan_to_status",
    "review",
]


def _moment(value):
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _of(value, allowed):
    return value if value in allowed else ""


def _typed(event, *, users, loans, reviews):
    """Fill the typed fields of one event (base or historical row) from its old/new strings."""
    kind, old, new = event.type, event.old, event.new
    if kind == "received":
        event.to_status = _of(new, STATUSES) or "received"
        event.text = ""  # it was the channel's label, which the complaint itself holds
    elif kind == "assigned" and new in STATUSES:  # the status half of an assignment
        event.from_status, event.to_status = _of(old, STATUSES), new
    elif kind == "assigned":
        event.previous_assignee_id, event.assignee_id = users.get(old), users.get(new)
    elif kind == "closed" and new == "withdrawn":
        event.type = "withdrawn"
        event.from_status, event.to_status = _of(old, STATUSES), "withdrawn"
    elif kind in STATUS_CHANGES:
        event.from_status, event.to_status = _of(old, STATUSES), _of(new, STATUSES)
    elif kind == "decided":
        event.from_status, event.to_status = _of(old, STATUSES), "decided"
        event.outcome = _of(new, OUTCOMES)
    elif kind == "review_decided":
        event.from_status, event.to_status = _of(old, STATUSES), "decided"
        event.review_id = reviews.get(event.complaint_id)
    elif kind == "drafted":
        event.outcome = _of(new, OUTCOMES)
    elif kind in DUE_CHANGES:
        event.previous_due_at, event.due_at = _moment(old), _moment(new)
    elif kind in DUE_ONLY:
        event.due_at = _moment(new)
    elif kind == "paused":
        event.pause_reason = _of(new, PAUSE_REASONS)
    elif kind in LOAN_EVENTS:
        event.loan_id = loans.get(event.text)
        event.loan_from_status, event.loan_to_status = _of(old, LOAN_STATUSES), _of(new, LOAN_STATUSES)
        if event.loan_id is not None:
            event.text = ""  # it was the loan's reference, which the FK now gives


def _lookups(apps, rows):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    loan_model = apps.get_model("accounts", "LoanRecord")
    review_model = apps.get_model("complaints", "VerificationRequest")
    names = {r.old for r in rows if r.type == "assigned"} | {r.new for r in rows if r.type == "assigned"}
    refs = {r.text for r in rows if r.type in LOAN_EVENTS}
    users = dict(user_model.objects.filter(username__in=names - {""}).values_list("username", "pk"))
    loans = dict(loan_model.objects.filter(reference__in=refs).values_list("reference", "pk"))
    reviews = dict(
        review_model.objects.filter(status="decided").order_by("pk").values_list("complaint_id", "pk")
    )
    return {"users": users, "loans": loans, "reviews": reviews}


def events_to_typed_fields(apps, schema_editor):
    for name in ("CaseEvent", "HistoricalCaseEvent"):
        model = apps.get_model("complaints", name)
        rows = list(model.objects.all())
        if not rows:
            continue
        found = _lookups(apps, rows)
        for row in rows:
            _typed(row, **found)
        model.objects.bulk_update(rows, TYPED, batch_size=1000)


def _old_new(event, *, usernames, references):
    """The reverse, as far as it goes: old/new strings rebuilt from the typed fields."""
    if event.type == "withdrawn":
        event.type = "closed"
    if event.loan_id is not None:
        event.old, event.new = event.loan_from_status, event.loan_to_status
        event.text = event.text or references.get(event.loan_id, "")
    elif event.assignee_id is not None or event.previous_assignee_id is not None:
        event.old = usernames.get(event.previous_assignee_id, "")
        event.new = usernames.get(event.assignee_id, "")
    elif event.due_at is not None:
        event.old = event.previous_due_at.isoformat() if event.previous_due_at else ""
        event.new = event.due_at.isoformat()
    elif event.type == "decided":
        event.old, event.new = event.from_status, event.outcome
    elif event.type == "drafted":
        event.new = event.outcome
    elif event.type == "paused":
        event.new = event.pause_reason
    else:
        event.old, event.new = event.from_status, event.to_status


def events_to_old_new(apps, schema_editor):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    loan_model = apps.get_model("accounts", "LoanRecord")
    usernames = dict(user_model.objects.values_list("pk", "username"))
    references = dict(loan_model.objects.values_list("pk", "reference"))
    for name in ("CaseEvent", "HistoricalCaseEvent"):
        model = apps.get_model("complaints", name)
        rows = list(model.objects.all())
        for row in rows:
            _old_new(row, usernames=usernames, references=references)
        model.objects.bulk_update(rows, ["type", "text", "old", "new"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_history_reason_text'),
        ('complaints', '0003_history_reason_text'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='caseevent',
            name='assignee',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='assignee'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='due_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='decision due'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='from_status',
            field=models.CharField(blank=True, choices=[('received', 'Received'), ('investigating', 'Investigating'), ('pending_approval', 'Pending approval'), ('decided', 'Decided'), ('under_review', 'Under review'), ('closed', 'Closed'), ('withdrawn', 'Withdrawn')], max_length=20, verbose_name='status before'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='loan',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.loanrecord', verbose_name='loan record'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='loan_from_status',
            field=models.CharField(blank=True, choices=[('posted', 'Posted'), ('disputed', 'Disputed'), ('reversed', 'Reversed'), ('repaid', 'Repaid')], max_length=16, verbose_name='loan status before'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='loan_to_status',
            field=models.CharField(blank=True, choices=[('posted', 'Posted'), ('disputed', 'Disputed'), ('reversed', 'Reversed'), ('repaid', 'Repaid')], max_length=16, verbose_name='loan status after'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='outcome',
            field=models.CharField(blank=True, choices=[('upheld', 'Upheld'), ('partially_upheld', 'Partially upheld'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn')], max_length=20, verbose_name='outcome'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='pause_reason',
            field=models.CharField(blank=True, choices=[('appraisal', 'Outside appraisal'), ('mediation', 'Mediation')], max_length=12, verbose_name='pause reason'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='previous_assignee',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='previous assignee'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='previous_due_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='previously due'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='review',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='complaints.verificationrequest', verbose_name='review request'),
        ),
        migrations.AddField(
            model_name='caseevent',
            name='to_status',
            field=models.CharField(blank=True, choices=[('received', 'Received'), ('investigating', 'Investigating'), ('pending_approval', 'Pending approval'), ('decided', 'Decided'), ('under_review', 'Under review'), ('closed', 'Closed'), ('withdrawn', 'Withdrawn')], max_length=20, verbose_name='status after'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='assignee',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='assignee'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='due_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='decision due'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='from_status',
            field=models.CharField(blank=True, choices=[('received', 'Received'), ('investigating', 'Investigating'), ('pending_approval', 'Pending approval'), ('decided', 'Decided'), ('under_review', 'Under review'), ('closed', 'Closed'), ('withdrawn', 'Withdrawn')], max_length=20, verbose_name='status before'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='loan',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.loanrecord', verbose_name='loan record'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='loan_from_status',
            field=models.CharField(blank=True, choices=[('posted', 'Posted'), ('disputed', 'Disputed'), ('reversed', 'Reversed'), ('repaid', 'Repaid')], max_length=16, verbose_name='loan status before'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='loan_to_status',
            field=models.CharField(blank=True, choices=[('posted', 'Posted'), ('disputed', 'Disputed'), ('reversed', 'Reversed'), ('repaid', 'Repaid')], max_length=16, verbose_name='loan status after'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='outcome',
            field=models.CharField(blank=True, choices=[('upheld', 'Upheld'), ('partially_upheld', 'Partially upheld'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn')], max_length=20, verbose_name='outcome'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='pause_reason',
            field=models.CharField(blank=True, choices=[('appraisal', 'Outside appraisal'), ('mediation', 'Mediation')], max_length=12, verbose_name='pause reason'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='previous_assignee',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='previous assignee'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='previous_due_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='previously due'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='review',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='complaints.verificationrequest', verbose_name='review request'),
        ),
        migrations.AddField(
            model_name='historicalcaseevent',
            name='to_status',
            field=models.CharField(blank=True, choices=[('received', 'Received'), ('investigating', 'Investigating'), ('pending_approval', 'Pending approval'), ('decided', 'Decided'), ('under_review', 'Under review'), ('closed', 'Closed'), ('withdrawn', 'Withdrawn')], max_length=20, verbose_name='status after'),
        ),
        migrations.AlterField(
            model_name='caseevent',
            name='type',
            field=models.CharField(choices=[('received', 'Complaint received'), ('acknowledged', 'Acknowledged'), ('assigned', 'Assigned'), ('note', 'Internal note'), ('message', 'Message to the customer'), ('extended', 'Deadline extended'), ('extension_requested', 'Further extension requested'), ('extension_refused', 'Further extension refused'), ('paused', 'Clock paused'), ('resumed', 'Clock resumed'), ('drafted', 'Decision drafted'), ('submitted', 'Decision submitted for approval'), ('returned', 'Decision returned'), ('approved', 'Decision approved'), ('decided', 'Decision made'), ('loan_disputed', 'Loan record disputed'), ('loan_reversed', 'Loan record reversed'), ('account_frozen', 'Account frozen and sessions signed out'), ('review_requested', 'Review requested'), ('review_decided', 'Review decided'), ('reminder', 'Reminder sent'), ('escalated', 'Escalated to managers'), ('closed', 'Closed'), ('withdrawn', 'Withdrawn')], max_length=24, verbose_name='event'),
        ),
        migrations.AlterField(
            model_name='historicalcaseevent',
            name='type',
            field=models.CharField(choices=[('received', 'Complaint received'), ('acknowledged', 'Acknowledged'), ('assigned', 'Assigned'), ('note', 'Internal note'), ('message', 'Message to the customer'), ('extended', 'Deadline extended'), ('extension_requested', 'Further extension requested'), ('extension_refused', 'Further extension refused'), ('paused', 'Clock paused'), ('resumed', 'Clock resumed'), ('drafted', 'Decision drafted'), ('submitted', 'Decision submitted for approval'), ('returned', 'Decision returned'), ('approved', 'Decision approved'), ('decided', 'Decision made'), ('loan_disputed', 'Loan record disputed'), ('loan_reversed', 'Loan record reversed'), ('account_frozen', 'Account frozen and sessions signed out'), ('review_requested', 'Review requested'), ('review_decided', 'Review decided'), ('reminder', 'Reminder sent'), ('escalated', 'Escalated to managers'), ('closed', 'Closed'), ('withdrawn', 'Withdrawn')], max_length=24, verbose_name='event'),
        ),
        migrations.RunPython(events_to_typed_fields, events_to_old_new),
    ]
