# The failures of a night moved to portal_adoption.NightlyFailure (shared with the
# rollup); a run keeps how many of its steps failed. Old runs keep their count.

from django.db import migrations, models


def count_old_failures(apps, schema_editor):
    NightlyRun = apps.get_model("messaging", "NightlyRun")
    for run in NightlyRun.objects.exclude(failures=[]).only("pk", "failures"):
        NightlyRun.objects.filter(pk=run.pk).update(failed=len(run.failures or []))


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0006_link_reply_communications_to_their_messages'),
    ]

    operations = [
        migrations.AddField(
            model_name='nightlyrun',
            name='failed',
            field=models.PositiveIntegerField(default=0, verbose_name='failed steps'),
        ),
        migrations.RunPython(count_old_failures, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='nightlyrun',
            name='failures',
        ),
    ]
