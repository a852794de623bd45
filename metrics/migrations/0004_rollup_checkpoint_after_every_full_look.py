"""Rollup runs record how far they looked at changes (metrics.models.RollupCheckpoint).

Without it the nightly run took every event recorded in the hour before the
newest rollup row as a late change, so `rollup_metrics --all` right after a
load (`make run`) was followed by a night that recomputed every month.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_recompute_every_month_for_issue_11")]

    operations = [
        migrations.CreateModel(
            name="RollupCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("taken_at", models.DateTimeField(verbose_name="taken at")),
                (
                    "events_in_margin",
                    models.PositiveBigIntegerField(
                        verbose_name="events recorded in the hour before"
                    ),
                ),
                (
                    "roster_in_margin",
                    models.CharField(
                        max_length=64, verbose_name="roster changes in the hour before"
                    ),
                ),
            ],
        ),
    ]
