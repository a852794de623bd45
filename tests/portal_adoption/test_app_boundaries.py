"""The arrows of architecture.md point one way: nothing imports `metrics` but the URL
conf and the Celery schedule, `enrollment` and `messaging` never import each other,
and only the adoption program (and the home page) import `program`."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "patients": {"metrics", "enrollment", "messaging", "program"},
    "enrollment": {"metrics", "messaging", "program"},
    "messaging": {"metrics", "enrollment", "program"},
    "portal_adoption": {"metrics"},
    # The adoption program runs across the daily tools; what only the rollups know
    # reaches it through portal_adoption.program_hooks, where metrics registers.
    "program": {"metrics"},
}
# Where the project itself wires the apps together (architecture.md).
ALLOWED = {Path("portal_adoption/urls.py"), Path("portal_adoption/settings.py")}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
    return names


@pytest.mark.reads_the_source
@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_an_app_imports_only_what_the_architecture_allows(app):
    wrong = [
        f"{path.relative_to(ROOT)} imports {sorted(imported_apps(path) & FORBIDDEN[app])}"
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        and path.relative_to(ROOT) not in ALLOWED
        and imported_apps(path) & FORBIDDEN[app]
    ]
    assert wrong == [], "\n".join(wrong)
