"""Every month already rolled up is marked stale, so the next night recomputes it.

Issue 11 gives response time one definition (a call that answers a message
is its response) and adds four figures; rows written before this release
have none of them, so the trend charts and the API would show "no data"
for every earlier month until `rollup_metrics --all` is run. Marking the
months lets the nightly job (metrics.services.rollup_nightly) fill them in
by itself; nothing else changes.
"""

from django.db import migrations
from django.utils import timezone


def mark_every_rolled_up_month(apps, schema_editor):
    MonthlyRollup = apps.get_model("metrics", "MonthlyRollup")
    StaleMonth = apps.get_model("metrics", "StaleMonth")
    months = MonthlyRollup.objects.order_by().values_list("month", flat=True).distinct()
    now = timezone.now()
    StaleMonth.objects.bulk_create(
        [StaleMonth(month=month, marked_at=now) for month in months], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [("metrics", "0002_monthly_report_delivery")]

    operations = [migrations.RunPython(mark_every_rolled_up_month, migrations.RunPython.noop)]
