"""manage.py compile_catalogs: write the committed .mo files from the .po files, without msgfmt."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal_adoption import catalogs
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    help = gettext_lazy(
        "Compile the translation catalogues (the patient texts laid over Spanish and "
        "Japanese) into the .mo files the app reads."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help=_("Write nothing; exit 1 if a .mo file is out of date with its .po files."),
        )

    def handle(self, *args, check=False, **options):
        if check:
            stale = catalogs.stale_catalogues()
            if stale:
                raise CommandError(
                    _("Out of date: %(languages)s. Run: make messages")
                    % {"languages": ", ".join(stale)}
                )
            self.stdout.write(_("Every compiled catalogue is up to date."))
            return
        languages = catalogs.shipped_languages()
        written = [catalogs.compile_catalogue(language) for language in languages]
        self.stdout.write(_("Compiled %(count)d catalogues.") % {"count": len(written)})
