"""Mutation testing of the modules that hold the business rules (tests/README.md).

    python -m tests.mutate run [PATH ...]              # make mutate; PATH narrows it
    python -m tests.mutate run --changed-since REV     # CI: the functions a commit changed
    python -m tests.mutate score [--fail-on-survivors] # the score per module

mutmut (configured in pyproject.toml) copies the apps to mutants/, mutates only
the rule modules, maps every function to the tests that call it and, for each
mutant, runs those tests alone. A mutant the tests do not notice "survived".
One that cannot change behavior is listed, with its reason, in
tests/mutation_equivalents.txt and counts for nothing.

Run from the repository root with DATABASE_URL pointing at PostgreSQL (workers
get a test database each: tests/mutation.py) and REDIS_URL unset, so workers
running at once do not share a cache.
"""

import argparse
import ast
import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.txt"
# The mutants the last `run` selected, for `score --only-run`.
LAST_RUN = ROOT / "mutants" / "last-run-selection.json"
CLASS_SEPARATOR = "ǁ"
# A mutant that makes the tests hang or crash was noticed; one left unchecked
# (the time cap) was not tested either way and is reported apart.
DETECTED = {"killed", "timeout", "segfault"}


def mutmut_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def rule_files() -> list[Path]:
    """The files `only_mutate` names, as paths relative to the root."""
    patterns = mutmut_config()["only_mutate"]
    return sorted(
        path.relative_to(ROOT)
        for app in mutmut_config()["source_paths"]
        for path in (ROOT / app).rglob("*.py")
        if any(fnmatch.fnmatch(str(path.relative_to(ROOT)), p) for p in patterns)
    )


def module_of(path: Path) -> str:
    """messaging/services/__init__.py -> messaging.services, as mutmut names mutants."""
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def function_keys(source: str) -> list[tuple[str, int, int]]:
    """(mutmut's key, first line, last line) of every function mutmut can mutate:
    module-level functions as x_name, methods as xǁClassǁname."""
    keys = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            keys.append((f"x_{node.name}", node.lineno, node.end_lineno))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    key = f"x{CLASS_SEPARATOR}{node.name}{CLASS_SEPARATOR}{item.name}"
                    keys.append((key, item.lineno, item.end_lineno))
    return keys


HUNK = re.compile(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def changed_lines(base: str, path: Path) -> set[int]:
    """Lines of the file as it is now that differ from `base` (all of it if new)."""
    diff = subprocess.run(
        ["git", "diff", "-U0", base, "--", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines: set[int] = set()
    for start, count in HUNK.findall(diff):
        first, length = int(start), int(count or 1)
        lines.update(range(first, first + length))
    return lines


def changed_function_globs(base: str) -> list[str]:
    """mutmut globs for the rule functions whose lines changed since `base`."""
    globs = []
    for path in rule_files():
        lines = changed_lines(base, path)
        if not lines:
            continue
        for key, first, last in function_keys((ROOT / path).read_text()):
            if lines.intersection(range(first, last + 1)):
                globs.append(f"{module_of(path)}.{key}__mutmut_*")
    return globs


def tests_that_import(globs: list[str]) -> list[str]:
    """The test files that import the mutated modules: for a capped CI run, mapping
    the whole suite would take the whole cap. Their app's tests if none does."""
    modules = {g.split(".x", 1)[0] for g in globs}
    patterns = []
    for module in modules:
        package, _, name = module.rpartition(".")
        patterns.append(
            re.compile(rf"\b{re.escape(module)}\b|from {re.escape(package)} import .*\b{name}\b")
        )
    found = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if "browser" not in path.parts and any(p.search(path.read_text()) for p in patterns)
    )
    return found or sorted({f"tests/{module.split('.')[0]}" for module in modules})


def tests_that_cover(globs: list[str]) -> list[str]:
    """The tests of each mutated module's app, and every other test file that imports
    it: the whole suite would make each survivor run hundreds of distant tests that
    only pass through the function, and a rule's own tests are where it is pinned."""
    apps = {f"tests/{g.split('.')[0]}" for g in globs}
    elsewhere = [
        t for t in tests_that_import(globs) if not any(t.startswith(f"{a}/") for a in apps)
    ]
    return sorted(apps.union(elsewhere))


def path_globs(paths: list[str]) -> list[str]:
    """mutmut globs for the rule files under each PATH (a file or a folder)."""
    selected = [f for f in rule_files() if not paths or any(_under(f, p) for p in paths)]
    if not selected:
        raise SystemExit(f"no rule module under {' '.join(paths)}: see only_mutate")
    # `messaging.services.*` would also take messaging.services.manage's mutants.
    return [f"{module_of(f)}.x*" for f in selected]


def verdicts() -> dict[str, dict]:
    """Each rule file's mutmut table (mutants/<file>.meta) as it stands."""
    tables = {}
    for path in rule_files():
        meta = ROOT / "mutants" / f"{path}.meta"
        if meta.exists():
            tables[str(path)] = json.loads(meta.read_text())
    return tables


def keep_earlier_verdicts(before: dict[str, dict]) -> int:
    """Put back the verdicts a run cleared without checking again.

    mutmut clears every verdict when the tests it maps change, and each module maps
    its own tests (tests_that_cover): without this, scoring one module would forget
    the others. A verdict is kept only while its function's source is unchanged.
    """
    kept = 0
    for path, now in verdicts().items():
        earlier = before.get(path)
        if earlier is None:
            continue
        same = {
            name
            for name, digest in now["hash_by_function_name"].items()
            if earlier["hash_by_function_name"].get(name) == digest
        }
        for mutant, code in now["exit_code_by_key"].items():
            old = earlier["exit_code_by_key"].get(mutant)
            if code is None and old is not None and _function_of(mutant) in same:
                now["exit_code_by_key"][mutant] = old
                kept += 1
        (ROOT / "mutants" / f"{path}.meta").write_text(json.dumps(now, indent=4))
    return kept


def _function_of(mutant: str) -> str:
    """messaging.services.x_claim__mutmut_3 -> x_claim (as in hash_by_function_name)."""
    name = mutant.rsplit("__mutmut_", 1)[0]
    return name[name.index(".x") + 1 :] if ".x" in name else name


def run_mutmut(globs: list[str], tests: list[str], max_children: int, time_cap: int) -> int:
    """mutmut in its own process group, so that the cap stops its workers too."""
    before = verdicts()
    try:
        return _run_mutmut(globs, tests, max_children, time_cap)
    finally:
        kept = keep_earlier_verdicts(before)
        if kept:
            print(f"kept {kept} verdicts of earlier runs whose functions are unchanged")


def _run_mutmut(globs: list[str], tests: list[str], max_children: int, time_cap: int) -> int:
    LAST_RUN.parent.mkdir(exist_ok=True)
    LAST_RUN.write_text(json.dumps(globs))
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    command = [sys.executable, "-c", MUTMUT_CHILD, str(max_children), *globs]
    if tests:
        env["PAM_MUTATE_TESTS"] = json.dumps(tests)
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        return process.wait(timeout=time_cap or None)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        print(f"\nstopped at the time cap ({time_cap} s): the rest is left unchecked")
        return 0


def build_the_template() -> None:
    """The migrated database each mutation run copies (tests/mutation.py)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    command = [sys.executable, "-m", "tests.mutate", "_template"]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _template() -> None:
    import django

    django.setup()
    from tests import mutation

    mutation.build_the_template()


# The child that runs mutmut must not import this package: pytest imports the
# tests of mutmut's copy (mutants/tests) as `tests`, and would find this one.
MUTMUT_CHILD = """
import json, os, sys
from mutmut.__main__ import _run
from mutmut.configuration import config

if "PAM_MUTATE_TESTS" in os.environ:
    config().pytest_add_cli_args_test_selection = json.loads(os.environ["PAM_MUTATE_TESTS"])
try:
    _run(sys.argv[2:], int(sys.argv[1]))
except AssertionError as nothing:
    # A changed function mutmut leaves alone (decorated ones are) has no mutants.
    if "nothing matches" not in str(nothing):
        raise
    print("mutmut made no mutants of these functions: nothing to run")
"""


@dataclass
class ModuleScore:
    module: str
    statuses: Counter = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return sum(n for s, n in self.statuses.items() if s not in {"equivalent", "not checked"})

    @property
    def score(self) -> float | None:
        detected = sum(self.statuses[s] for s in DETECTED)
        return 100.0 * detected / self.counted if self.counted else None


def equivalents() -> dict[str, str]:
    """mutant name -> the one-line reason it cannot change behavior."""
    marked = {}
    for line in EQUIVALENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            if not reason.strip():
                raise SystemExit(f"{EQUIVALENTS.name}: {name} needs a one-line reason")
            marked[name] = reason.strip()
    return marked


def scores(only: list[str] | None) -> list[ModuleScore]:
    from mutmut.stats import status_by_exit_code  # its own reading of its exit codes

    marked = equivalents()
    by_module = {}
    for path, table in verdicts().items():
        board = by_module.setdefault(path, ModuleScore(path))
        for name, code in table["exit_code_by_key"].items():
            if only is not None and not any(fnmatch.fnmatch(name, g) for g in only):
                continue
            status = status_by_exit_code[code]
            if name in marked and status not in DETECTED:
                status = "equivalent"
            board.statuses[status] += 1
            if status not in DETECTED | {"equivalent", "not checked"}:
                board.survivors.append(f"{name} ({status})")
    return [b for b in by_module.values() if b.statuses]


def undetected(paths: list[str]) -> list[str]:
    """The mutants under PATH not detected yet (survivors, and those a changed function
    or a stopped run left unchecked), less the equivalent ones: after writing tests,
    check only these again."""
    from mutmut.stats import status_by_exit_code

    marked = equivalents()
    return [
        name
        for path, table in verdicts().items()
        if not paths or any(_under(Path(path), p) for p in paths)
        for name, code in table["exit_code_by_key"].items()
        if status_by_exit_code[code] not in DETECTED and name not in marked
    ]


def _under(path: Path, given: str) -> bool:
    return path == Path(given) or Path(given) in path.parents


def print_scores(boards: list[ModuleScore]) -> None:
    print(f"{'module':44} {'mutants':>7} {'killed':>6} {'missed':>6} {'equiv':>5} {'score':>6}")
    for b in boards:
        missed = b.counted - sum(b.statuses[s] for s in DETECTED)
        score = "-" if b.score is None else f"{b.score:.1f}%"
        print(
            f"{b.module:44} {sum(b.statuses.values()):7} "
            f"{sum(b.statuses[s] for s in DETECTED):6} {missed:6} "
            f"{b.statuses['equivalent']:5} {score:>6}"
        )
        if b.statuses["not checked"]:
            print(f"    ({b.statuses['not checked']} not checked: the run stopped first)")
    survivors = [s for b in boards for s in b.survivors]
    if survivors:
        print("\nNot detected (kill it with a test, or list it in mutation_equivalents.txt):")
        for name in survivors:
            print(f"    {name}")
        print("See one with: .venv/bin/mutmut show NAME")


def main(argv: list[str]) -> int:
    if argv[:1] == ["_template"]:
        _template()
        return 0
    parser = argparse.ArgumentParser(prog="python -m tests.mutate")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="mutate the rule modules and run their tests")
    run.add_argument("paths", nargs="*", help="rule files or folders (default: all of them)")
    run.add_argument("--changed-since", metavar="REV", help="only the functions changed since REV")
    run.add_argument(
        "--survivors",
        action="store_true",
        help="only the mutants under PATH the last runs did not detect (after new tests)",
    )
    run.add_argument(
        "--tests",
        nargs="+",
        default=[],
        help="test paths to map (default: the tests of each module's app and the test "
        "files that import it; with --changed-since, only the files that import it)",
    )
    run.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    run.add_argument("--time-cap", type=int, default=0, help="seconds; 0 for none")
    score = sub.add_parser("score", help="the score per module, and what was not detected")
    score.add_argument("--only-run", action="store_true", help="only the last run's mutants")
    score.add_argument("--fail-on-survivors", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "run":
        tests = args.tests
        if args.changed_since:
            globs = changed_function_globs(args.changed_since)
            tests = tests or tests_that_import(globs)
            if not globs:
                print(f"no rule function changed since {args.changed_since}: nothing to mutate")
                LAST_RUN.parent.mkdir(exist_ok=True)
                LAST_RUN.write_text("[]")
                return 0
        else:
            globs = path_globs(args.paths)
            tests = tests or tests_that_cover(globs)
            if args.survivors:
                globs = undetected(args.paths)
                if not globs:
                    print("every mutant checked so far was detected or is equivalent")
                    return 0
        print("mutating:", *globs, sep="\n    ")
        build_the_template()
        return run_mutmut(globs, tests, args.max_children, args.time_cap)

    only = json.loads(LAST_RUN.read_text()) if args.only_run and LAST_RUN.exists() else None
    if only == []:
        print("the last run mutated nothing")
        return 0
    boards = scores(only)
    print_scores(boards)
    missed = any(b.survivors for b in boards)
    return 1 if args.fail_on_survivors and missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
