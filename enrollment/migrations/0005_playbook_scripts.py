"""The playbook's wording of every script, in each patient language: the practice edits it later."""

from django.db import migrations


def load_playbook_scripts(apps, schema_editor):
    # The wording comes from the shipped catalogues (enrollment.playbook); a row nobody
    # changed keeps showing the catalogues' wording (enrollment.selectors.script_for).
    from enrollment.playbook import PLAYBOOK_SCRIPTS, SHIPPED_LANGUAGES, playbook_wording

    Script = apps.get_model("enrollment", "Script")
    for key in PLAYBOOK_SCRIPTS:
        for language in SHIPPED_LANGUAGES:
            Script.objects.get_or_create(
                key=str(key), language=language, defaults={"text": playbook_wording(key, language)}
            )


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0004_scripts_and_portal_conversations")]

    operations = [migrations.RunPython(load_playbook_scripts, migrations.RunPython.noop)]
