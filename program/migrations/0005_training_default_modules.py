"""The playbook's training modules, created once by key (running again changes nothing).

The texts are frozen here, as they were when the defaults shipped: a practice
edits its own copy on the training page, and this migration never overwrites it.
"""

from django.db import migrations
from django.utils import timezone

FRONT_DESK, NURSE, PROVIDER, BILLING = "front_desk", "nurse", "provider", "billing"
YEARLY = "Refresher: every 12 months."

DEFAULT_MODULES = [
    {
        "key": "enrollment_at_checkin",
        "title": "Enrolling patients at check-in",
        "required_roles": [FRONT_DESK],
        "refresher_months": 12,
        "text": (
            "Offer the portal to every patient at check-in, as a statement, not a yes/no "
            "question. Say: \"Let's set up your patient portal access today. You'll be able "
            "to message us, see test results, and schedule appointments. What's the best "
            "email to use?\"\n"
            "Then work the checklist while the patient is there (target: under two minutes):\n"
            "1. Collect the current email address (and mobile number).\n"
            "2. Send the portal invitation while the patient is present.\n"
            "3. Help the patient finish the first login.\n"
            "4. Show one key feature: messaging or scheduling.\n"
            "5. Help install the mobile app.\n"
            "6. Confirm the patient can get in and find their way.\n"
            "7. Hand over the quick reference card with the login address.\n"
            "8. Record the enrollment in the EHR (the application writes the note text).\n"
            "9. Set the follow-up: a reminder if the patient has not logged in within a week "
            "(set automatically when you complete the enrollment).\n"
            "If the patient declines, pick the reason and offer the remedy the screen shows.\n"
            + YEARLY
        ),
    },
    {
        "key": "message_triage",
        "title": "Message triage and response standards",
        "required_roles": [NURSE, FRONT_DESK, BILLING],
        "refresher_months": 12,
        "text": (
            "Every portal message lands in one team's queue: clinical to nursing, "
            "administrative to the front desk, billing to billing. Our internal target is a "
            "reply the same business day; the promise to patients is one business day.\n"
            "Urgent red flags (chest pain, trouble breathing, suicidal thoughts, and the other "
            "phrases on the red-flag list) go to the top of the nursing queue and raise an "
            "alert: act on them first, and call the patient when needed.\n"
            "Take the next message with one click (Take next) rather than picking: two people "
            "never get the same message, and the oldest waits least.\n"
            "Reply from a template where one fits, and make it personal; escalate to the "
            "provider or re-route when the message is not yours.\n" + YEARLY
        ),
    },
    {
        "key": "portal_documentation",
        "title": "Documentation rules for portal conversations",
        "required_roles": [NURSE, PROVIDER],
        "refresher_months": 12,
        "text": (
            "A portal conversation is part of the record when it bears on care.\n"
            "Clinical question and answer: always a chart note before the message is closed "
            "(the application drafts it, for example: \"Patient asked about swelling after "
            "surgery; reassured; told which signs need follow-up; patient understood\").\n"
            "Scheduling: a note only when it bears on care (a missed follow-up, a delayed "
            "test).\n"
            "Administrative: rarely.\n" + YEARLY
        ),
    },
    {
        "key": "promoting_scheduling_and_results",
        "title": "Promoting self-scheduling and results on the phone",
        "required_roles": [FRONT_DESK, NURSE],
        "refresher_months": 12,
        "text": (
            "Every phone call is a chance to show the portal.\n"
            "When a patient calls to book: \"I can book that for you now, and you can also do "
            "it yourself any time in the portal. Shall I help you set it up?\"\n"
            "When a patient calls for results: \"Let me look that up. For next time, results "
            "are usually posted to the portal the same day. Do you have access?\"\n"
            "Record the outcome: already enrolled, wants an invitation (the patient goes on "
            "the follow-up list), or declined with the reason.\n" + YEARLY
        ),
    },
    {
        "key": "portal_payments",
        "title": "Portal payments",
        "required_roles": [BILLING],
        "refresher_months": 12,
        "text": (
            "Patients enrolled in the portal can see their statements and pay online. When "
            "a patient calls or writes about a bill, tell them they can pay in the portal at "
            "any time, and show them where. Answer billing messages in the billing queue the "
            "same business day. Mention any incentive the practice offers for paying online.\n"
            + YEARLY
        ),
    },
    {
        "key": "quarterly_refresher",
        "title": "Quarterly refresher",
        "required_roles": [FRONT_DESK, NURSE, PROVIDER, BILLING],
        "refresher_months": 3,
        "text": (
            "Every quarter, everyone who works with patients reviews the scripts, the "
            "response standards and this quarter's figures (enrollment rate, response time, "
            "self-scheduling, payments), and shares what patients found hard.\n"
            "Refresher: every 3 months."
        ),
    },
]


def create_default_modules(apps, schema_editor):
    TrainingModule = apps.get_model("program", "TrainingModule")
    today = timezone.localdate().isoformat()
    for order, module in enumerate(DEFAULT_MODULES, start=1):
        TrainingModule.objects.get_or_create(
            key=module["key"],
            defaults={
                **module,
                "order": order * 10,
                "role_required_since": {role: today for role in module["required_roles"]},
            },
        )


class Migration(migrations.Migration):
    dependencies = [("program", "0004_training_modules_completions_sessions")]

    operations = [migrations.RunPython(create_default_modules, migrations.RunPython.noop)]
