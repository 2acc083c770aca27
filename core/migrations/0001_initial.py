# The security-log models moved from the backoffice app to core (the bottom layer) without
# touching their tables: state only.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("backoffice", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.CreateModel(
            name='PiiAccessLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('subject', models.CharField(max_length=100)),
                ('fields', models.CharField(max_length=200)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'backoffice_piiaccesslog',
                'verbose_name': 'personal-data access',
                'verbose_name_plural': 'personal-data accesses',
                'indexes': [models.Index(fields=['user', '-at'], name='pii_user_time_idx')],
            },
        ),
        migrations.CreateModel(
            name='StepUpVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('verified_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('session_key', models.CharField(blank=True, max_length=64)),
                ('purpose', models.CharField(blank=True, max_length=64)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stepup_verifications', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'backoffice_stepupverification',
                'verbose_name': 'step-up verification',
                'verbose_name_plural': 'step-up verifications',
                'indexes': [models.Index(fields=['user', '-verified_at'], name='stepup_user_time_idx')],
            },
        ),
    ],
        ),
    ]
