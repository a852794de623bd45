"""The event log refuses TRUNCATE too: a statement-level trigger (PostgreSQL)."""

from django.db import migrations

from portal_adoption.db import refuse_truncate


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_provider_login_and_phone_preference")]

    operations = [refuse_truncate("patients_activityevent")]
