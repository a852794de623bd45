from django.db import migrations

from portal_adoption.db import append_only


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [append_only("patients_activityevent")]
