"""manage.py grant_app_role ROLE: let the application's limited role in, and no further."""

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal_adoption.database_roles import (
    ROLE_NAME,
    append_only_bypasses,
    grant_statements,
    role_exists,
)
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    help = gettext_lazy(
        "Run as the tables' owner after each migrate (PostgreSQL): give the application's "
        "role what it needs to run, and not the power to change the access log or the "
        "event log."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help=_("The role the application connects as."))
        parser.add_argument(
            "--print",
            dest="print_only",
            action="store_true",
            help=_("Print the SQL instead of running it."),
        )

    def handle(self, *args, role: str, print_only: bool = False, **options):
        if connection.vendor != "postgresql":
            raise CommandError(_("Only PostgreSQL has roles; SQLite needs no grants."))
        if not ROLE_NAME.match(role):
            raise CommandError(
                _("“%(role)s” is not a plain role name: use lower-case letters, digits and _.")
                % {"role": role}
            )
        statements = grant_statements(connection, role)
        if print_only:
            self.stdout.write(";\n".join(statements) + ";")
            return
        self._refuse_useless(role)
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self._report(role)

    def _refuse_useless(self, role: str) -> None:
        if not role_exists(connection, role):
            raise CommandError(
                _(
                    "There is no role “%(role)s”. Create it first, as a superuser: "
                    "CREATE ROLE %(role)s LOGIN PASSWORD '…';"
                )
                % {"role": role}
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            if cursor.fetchone()[0] == role:
                raise CommandError(
                    _(
                        "Run this as the owner of the tables (the role that runs migrate), "
                        "not as “%(role)s” itself."
                    )
                    % {"role": role}
                )

    def _report(self, role: str) -> None:
        bypasses = append_only_bypasses(connection, role)
        if bypasses:
            raise CommandError(
                _(
                    "Granted, but “%(role)s” can still get around the append-only tables: "
                    "%(reasons)s."
                )
                % {"role": role, "reasons": "; ".join(bypasses)}
            )
        self.stdout.write(
            _(
                "“%(role)s” can use the application and cannot change the access log or the "
                "event log."
            )
            % {"role": role}
        )
