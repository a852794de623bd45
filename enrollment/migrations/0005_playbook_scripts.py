"""The playbook's wording of every script, in English and Spanish: the practice edits it later."""

from django.db import migrations


def load_playbook_scripts(apps, schema_editor):
    from enrollment.playbook import PLAYBOOK_SCRIPTS, SHIPPED_LANGUAGES

    Script = apps.get_model("enrollment", "Script")
    for key, texts in PLAYBOOK_SCRIPTS.items():
        for language in SHIPPED_LANGUAGES:
            Script.objects.get_or_create(
                key=str(key), language=language, defaults={"text": texts[language]}
            )


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0004_scripts_and_portal_conversations")]

    operations = [migrations.RunPython(load_playbook_scripts, migrations.RunPython.noop)]
