"""Closure events get typed fields instead of one free text: `text` becomes `reason` (why), and
what it used to carry for some kinds moves to its own column, in the events and their history:

- code_sent: the channel's label (English or Chinese, as written then) -> `channel`;
- notice_sent: the notice's event name -> `notice_event`;
- appeal steps and the reversal: the closure's appeal -> `appeal` (and the reference that
  appeal_filed / appeal_review wrote as text is dropped: the appeal names it).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

CHANNEL_LABELS = {"Text message": "sms", "短信": "sms", "Email": "email", "电子邮件": "email"}
CHANNEL_LABEL = {"sms": "Text message", "email": "Email"}
APPEAL_KINDS = ["appeal_filed", "appeal_review", "appeal_upheld", "appeal_dismissed", "reversed"]
REFERENCE_KINDS = ["appeal_filed", "appeal_review"]
EVENT_MODELS = ["ClosureEvent", "HistoricalClosureEvent"]


def events_typed_forwards(apps, schema_editor):
    appeal = apps.get_model("closures", "Appeal").objects.filter(closure_id=OuterRef("closure_id"))
    for name in EVENT_MODELS:
        events = apps.get_model("closures", name).objects
        for label, channel in CHANNEL_LABELS.items():
            events.filter(kind="code_sent", reason=label).update(channel=channel, reason="")
        events.filter(kind="notice_sent").update(notice_event=F("reason"), reason="")
        events.filter(kind__in=APPEAL_KINDS).update(appeal=Subquery(appeal.values("pk")[:1]))
        events.filter(kind__in=REFERENCE_KINDS, reason=F("appeal__reference")).update(reason="")


def events_typed_backwards(apps, schema_editor):
    for name in EVENT_MODELS:
        events = apps.get_model("closures", name).objects
        for channel, label in CHANNEL_LABEL.items():
            events.filter(kind="code_sent", channel=channel).update(reason=label)
        events.filter(kind="notice_sent").update(reason=F("notice_event"))
        for event in events.filter(kind__in=REFERENCE_KINDS, reason="", appeal__isnull=False):
            events.filter(pk=event.pk).update(reason=event.appeal.reference)


class Migration(migrations.Migration):
    dependencies = [
        ("closures", "0002_history_reason_text"),
    ]

    operations = [
        migrations.RenameField(
            model_name="closureevent",
            old_name="text",
            new_name="reason",
        ),
        migrations.RenameField(
            model_name="historicalclosureevent",
            old_name="text",
            new_name="reason",
        ),
        migrations.AddField(
            model_name="closureevent",
            name="appeal",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="closures.appeal",
                verbose_name="appeal",
            ),
        ),
        migrations.AddField(
            model_name="closureevent",
            name="channel",
            field=models.CharField(
                blank=True,
                choices=[("sms", "Text message"), ("email", "Email")],
                max_length=8,
                verbose_name="code sent by",
            ),
        ),
        migrations.AddField(
            model_name="closureevent",
            name="notice_event",
            field=models.CharField(blank=True, max_length=40, verbose_name="notice sent"),
        ),
        migrations.AddField(
            model_name="historicalclosureevent",
            name="appeal",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="closures.appeal",
                verbose_name="appeal",
            ),
        ),
        migrations.AddField(
            model_name="historicalclosureevent",
            name="channel",
            field=models.CharField(
                blank=True,
                choices=[("sms", "Text message"), ("email", "Email")],
                max_length=8,
                verbose_name="code sent by",
            ),
        ),
        migrations.AddField(
            model_name="historicalclosureevent",
            name="notice_event",
            field=models.CharField(blank=True, max_length=40, verbose_name="notice sent"),
        ),
        migrations.AlterField(
            model_name="closureevent",
            name="new_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("awaiting_confirmation", "Awaiting the customer's code"),
                    ("pending_review", "Pending review"),
                    ("approved", "Approved, not yet in effect"),
                    ("closing", "Closing (balance still owed)"),
                    ("closed", "Closed"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                    ("reversed", "Reversed on appeal"),
                ],
                max_length=24,
                verbose_name="to",
            ),
        ),
        migrations.AlterField(
            model_name="closureevent",
            name="old_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("awaiting_confirmation", "Awaiting the customer's code"),
                    ("pending_review", "Pending review"),
                    ("approved", "Approved, not yet in effect"),
                    ("closing", "Closing (balance still owed)"),
                    ("closed", "Closed"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                    ("reversed", "Reversed on appeal"),
                ],
                max_length=24,
                verbose_name="from",
            ),
        ),
        migrations.AlterField(
            model_name="historicalclosureevent",
            name="new_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("awaiting_confirmation", "Awaiting the customer's code"),
                    ("pending_review", "Pending review"),
                    ("approved", "Approved, not yet in effect"),
                    ("closing", "Closing (balance still owed)"),
                    ("closed", "Closed"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                    ("reversed", "Reversed on appeal"),
                ],
                max_length=24,
                verbose_name="to",
            ),
        ),
        migrations.AlterField(
            model_name="historicalclosureevent",
            name="old_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("awaiting_confirmation", "Awaiting the customer's code"),
                    ("pending_review", "Pending review"),
                    ("approved", "Approved, not yet in effect"),
                    ("closing", "Closing (balance still owed)"),
                    ("closed", "Closed"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                    ("reversed", "Reversed on appeal"),
                ],
                max_length=24,
                verbose_name="from",
            ),
        ),
        migrations.RunPython(events_typed_forwards, events_typed_backwards),
    ]
