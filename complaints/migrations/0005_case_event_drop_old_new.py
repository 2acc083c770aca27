"""Case events, step 2 of 2: the `old`/`new` strings go (0004 carried them over)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('complaints', '0004_case_event_typed_fields'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='caseevent',
            name='new',
        ),
        migrations.RemoveField(
            model_name='caseevent',
            name='old',
        ),
        migrations.RemoveField(
            model_name='historicalcaseevent',
            name='new',
        ),
        migrations.RemoveField(
            model_name='historicalcaseevent',
            name='old',
        ),
    ]
