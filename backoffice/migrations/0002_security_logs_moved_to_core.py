# PiiAccessLog and StepUpVerification now belong to core (see core/migrations/0001): state only,
# the tables stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("backoffice", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="PiiAccessLog"),
                migrations.DeleteModel(name="StepUpVerification"),
            ],
        ),
    ]
