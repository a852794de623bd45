"""Link the communications log's existing reply rows to the message they answer.

Until now a staff reply was copied into Communication with the patient's
message subject and no link to the message, so anyone who could see the
patient could read it. A reply row was written in the same transaction as
its Reply, with the same patient, author, time and text: that is the match.
The copied subject is cleared (it stays on the message). A row that matches
no reply keeps no link, and the selector shows such a row (no rule, no
message) to managers only.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Substr


def link_replies(apps, schema_editor):
    Communication = apps.get_model("messaging", "Communication")
    Reply = apps.get_model("messaging", "Reply")
    source = Reply.objects.filter(
        message__patient_id=OuterRef("patient_id"),
        sent_by_id=OuterRef("sent_by_id"),
        sent_at=OuterRef("sent_at"),
        body=OuterRef("body"),
    ).order_by("pk")
    replies = Communication.objects.filter(rule="", message__isnull=True)
    replies.update(message_id=Subquery(source.values("message_id")[:1]))
    Communication.objects.filter(rule="", message__isnull=False).update(subject="")


def restore_subjects(apps, schema_editor):
    Communication = apps.get_model("messaging", "Communication")
    Message = apps.get_model("messaging", "Message")
    subject = (
        Message.objects.filter(pk=OuterRef("message_id"))
        .annotate(short=Substr("subject", 1, 200))
        .values("short")[:1]
    )
    Communication.objects.filter(message__isnull=False).update(subject=Subquery(subject))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_communication_source_message_and_idempotency_keys"),
    ]

    operations = [migrations.RunPython(link_replies, restore_subjects)]
