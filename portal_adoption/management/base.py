"""The base of the project's management commands."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    """A command whose help texts may be translatable (gettext_lazy).

    argparse formats the description with `re.sub`, which needs a plain string:
    a lazy `help` made `manage.py <command> --help` crash. It is made a string
    in the user's language when the parser is built, not when the module loads.
    """

    def create_parser(self, prog_name, subcommand, **kwargs):
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)
