from django.db import migrations

from portal_adoption.db import append_only


class Migration(migrations.Migration):
    dependencies = [("portal_adoption", "0001_initial")]

    operations = [append_only("portal_adoption_accesslogentry")]
