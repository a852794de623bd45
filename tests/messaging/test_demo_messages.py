"""A first run shows work in every queue."""

from django.core.management import call_command

from messaging.models import Message, Queue
from tests.factories import PatientFactory


def test_demo_messages_fill_every_team_queue_once(db):
    PatientFactory.create_batch(5)
    call_command("demo_messages", count=28)
    call_command("demo_messages", count=28)
    assert Message.objects.count() == 28
    queues = set(Message.objects.values_list("queue", flat=True))
    assert queues == {Queue.NURSING, Queue.FRONT_DESK, Queue.BILLING}
    assert Message.objects.filter(urgent=True).exists()
