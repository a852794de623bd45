"""manage.py verify_access_log: walk the access log's hash chain, name the first break."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal_adoption.access_chain import ChainWalk
from portal_adoption.management.base import Command as ProjectCommand


class Command(ProjectCommand):
    help = gettext_lazy(
        "Check that no access-log row was changed, removed or reordered since it was "
        "written. Exit 1 at the first broken link."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            dest="list_all",
            action="store_true",
            help=_("List every broken link, not only the first."),
        )
        parser.add_argument(
            "--expect",
            metavar="POSITION:HASH",
            help=_(
                "A head printed by an earlier run: check that it is still in the chain. "
                "Keeping each night's head outside the database shows rows removed from the "
                "end, or a chain rebuilt from scratch."
            ),
        )

    def handle(self, *args, list_all: bool = False, expect: str | None = None, **options):
        expected = _parse_expect(expect) if expect else None
        walk = ChainWalk()
        broken = 0
        for link in walk.breaks():
            broken += 1
            if not list_all:
                raise CommandError(_("The access log is broken. %s") % link.describe())
            self.stdout.write(link.describe())
        if broken:
            raise CommandError(
                _("The access log is broken: %(count)d broken links in %(rows)d rows.")
                % {"count": broken, "rows": walk.rows}
            )
        if expected:
            _check_expected(walk, *expected)
        self.stdout.write(
            _(
                "All %(rows)d rows of the access log are intact. Head: %(position)d:%(hash)s "
                "(keep it, and pass it to --expect next time)."
            )
            % {"rows": walk.rows, "position": walk.head_position, "hash": walk.head_hash}
        )


def _parse_expect(text: str) -> tuple[int, str]:
    position, _colon, digest = text.partition(":")
    if not (position.isdigit() and len(digest) == 64):
        raise CommandError(
            _("--expect must be POSITION:HASH as printed by an earlier run, e.g. 1204:3fa9…")
        )
    return int(position), digest.lower()


def _check_expected(walk: ChainWalk, position: int, digest: str) -> None:
    found = walk.hash_at(position)
    if found != digest:
        raise CommandError(
            _(
                "The access log is broken: the head recorded earlier (position %(position)d) "
                "is no longer in it. Rows were removed from the end, or the chain was rebuilt."
            )
            % {"position": position}
        )
