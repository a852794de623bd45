"""Events carry the optional appointment_type of an appointment_booked (activity-feed.md).

SQLite cannot add a NOT NULL column in place: Django rebuilds the table, and
the rebuild drops the append-only triggers. So they are taken off first and
put back last, as in portal_adoption 0006; on PostgreSQL this is one
transaction and no stored event is rewritten (the column's default is the
empty string, "the feed did not say").
"""

from django.db import migrations, models

from portal_adoption.db import append_only, append_only_suspended

TABLE = "patients_activityevent"


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_response_by_phone_event"),
    ]

    operations = [
        append_only_suspended(TABLE),
        migrations.AddField(
            model_name="activityevent",
            name="appointment_type",
            field=models.CharField(
                blank=True,
                choices=[
                    ("annual_exam", "Annual exam"),
                    ("follow_up", "Follow-up"),
                    ("sick_visit", "Sick visit"),
                    ("procedure", "Procedure"),
                    ("other", "Other"),
                ],
                max_length=16,
                verbose_name="appointment type",
            ),
        ),
        append_only(TABLE),
    ]
