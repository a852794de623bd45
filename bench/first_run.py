"""Benchmark: the demo steps of `make run`, on a throwaway SQLite file.

    .venv/bin/python bench/first_run.py                    # 2,000 patients x 12 months
    .venv/bin/python bench/first_run.py --keep var/first_run.sqlite3   # keep the file

Runs what `make run` runs after the install, each step as its own
`manage.py` process (as make does, so Django's start-up is counted), against
a new SQLite file: migrate, demo_data, demo_messages, demo_program,
rollup_metrics --all, demo_logins; then starts `runserver` and waits until it
answers. Prints each step's seconds and the total, and finally what one
`rollup_metrics` (the nightly set) recomputes right after `--all`.

Targets: the whole first run until the server answers under 60 s on a 2-core
machine; `rollup_metrics --all` under 10 s. It never fails on timing.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    options = _options()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(options.keep).resolve() if options.keep else Path(tmp) / "first_run.sqlite3"
        path.unlink(missing_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{path}",
            "DEBUG": "true",  # as `make run`
        }
        env.pop("REDIS_URL", None)  # `make run` without Redis: tasks in-process
        steps = [
            ("migrate", ["migrate", "--noinput"]),
            (
                "demo_data",
                [
                    "demo_data",
                    "--patients",
                    str(options.patients),
                    "--months",
                    str(options.months),
                    "--no-logins",
                ],
            ),
            ("demo_messages", ["demo_messages"]),
            ("demo_program", ["demo_program"]),
            ("rollup_metrics --all", ["rollup_metrics", "--all"]),
            ("demo_logins", ["demo_logins"]),
        ]
        print(
            f"first run on SQLite: {options.patients} patients x {options.months} months; "
            f"{os.cpu_count()} cores",
            flush=True,
        )
        total = 0.0
        outputs = {}
        for name, arguments in steps:
            seconds, outputs[name] = _manage(arguments, env)
            total += seconds
            print(f"  {name:<22} {seconds:6.1f} s", flush=True)
        seconds = _serve_until_it_answers(env)
        total += seconds
        print(f"  {'runserver answers':<22} {seconds:6.1f} s", flush=True)
        print(f"  {'total':<22} {total:6.1f} s", flush=True)
        events = _count_events(env)
        print(f"events in the demo: {events:,}")
        print("rollup_metrics --all said: " + outputs["rollup_metrics --all"].strip())
        seconds, output = _manage(["rollup_metrics"], env)
        print(f"then the nightly set ({seconds:.1f} s): {output.strip()}")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--keep", metavar="FILE", help="use and keep this SQLite file")
    return parser.parse_args()


def _manage(arguments: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"manage.py {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def _serve_until_it_answers(env: dict) -> float:
    """Start runserver on a free port; the seconds until it answers an HTTP request."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except urllib.error.HTTPError:
                break  # an answer (a redirect to the sign-in page is one)
            except OSError:
                if server.poll() is not None:
                    sys.exit("runserver stopped before it answered")
                time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()


def _count_events(env: dict) -> int:
    _seconds, output = _manage(
        [
            "shell",
            "-c",
            "from patients.models import ActivityEvent; print(ActivityEvent.objects.count())",
        ],
        env,
    )
    match = re.search(r"\d+\s*$", output)
    return int(match.group()) if match else 0


if __name__ == "__main__":
    main()
