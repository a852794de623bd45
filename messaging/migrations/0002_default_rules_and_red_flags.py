from django.db import migrations

from messaging.defaults import RED_FLAGS, ROUTING_RULES


def add_defaults(apps, schema_editor):
    RedFlag = apps.get_model("messaging", "RedFlag")
    RoutingRule = apps.get_model("messaging", "RoutingRule")
    RoutingSettings = apps.get_model("messaging", "RoutingSettings")
    for language, phrases in RED_FLAGS.items():
        for phrase in phrases:
            RedFlag.objects.get_or_create(phrase=phrase, defaults={"language": language})
    for category, phrases in ROUTING_RULES.items():
        for phrase in phrases:
            RoutingRule.objects.get_or_create(category=category, phrase=phrase)
    RoutingSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
