# Portal Adoption Manager: the two commands of the README, and a few helpers.
#   make run   - install, migrate, load demo data, serve on http://127.0.0.1:8000
#   make test  - the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set),
#                browser tests included when Debian's Chromium is at $(CHROMIUM)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DEMO_PATIENTS ?= 2000
DEMO_MONTHS ?= 12
CHROMIUM := /usr/bin/chromium
# Test processes for `make test` (pytest-xdist). Each has its own PostgreSQL and Redis
# database (tests/settings.py); Redis has 16, so at most 16.
TEST_WORKERS ?= 2

# A first run is a development run: DEBUG on unless the caller says otherwise.
export DEBUG ?= true

.PHONY: run test lint format migrate demo install clean messages mutate mutate-survivors mutate-score

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_data --patients $(DEMO_PATIENTS) --months $(DEMO_MONTHS) --no-logins
	$(PY) manage.py demo_messages
	$(PY) manage.py demo_program
	$(PY) manage.py rollup_metrics --all

run: demo
	@$(PY) manage.py demo_logins
ifneq ($(and $(DATABASE_URL),$(REDIS_URL)),)
	@echo "DATABASE_URL and REDIS_URL are set: starting web, Celery worker and beat."
	$(BIN)/honcho start -f Procfile.dev
else
	@echo "Serving on http://127.0.0.1:8000 (SQLite, tasks in-process). Ctrl-C stops it."
	$(PY) manage.py runserver 127.0.0.1:8000
endif

test: install
	@test -x $(CHROMIUM) || echo "browser tests skipped: $(CHROMIUM) not found (apt-get install chromium)"
	$(BIN)/pytest -n $(TEST_WORKERS)

# Mutation testing of the rule modules (tests/README.md): every function's mutants
# against the tests of its app that call it. Needs PostgreSQL (DATABASE_URL);
# `make mutate MUTATE="patients/rules.py"` narrows it, and `make mutate-survivors`
# checks again only what the last runs did not detect (after writing tests).
MUTATE ?=
mutate: install
	@test -n "$(DATABASE_URL)" || { echo "make mutate needs PostgreSQL: set DATABASE_URL"; exit 1; }
	$(PY) -m tests.mutate run $(MUTATE)
	$(PY) -m tests.mutate score

mutate-survivors: install
	@test -n "$(DATABASE_URL)" || { echo "make mutate needs PostgreSQL: set DATABASE_URL"; exit 1; }
	$(PY) -m tests.mutate run --survivors $(MUTATE)
	$(PY) -m tests.mutate score

mutate-score: install
	$(PY) -m tests.mutate score

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The translation catalogues: the staff strings into Spanish and Japanese (makemessages,
# needs GNU gettext), the patient texts into every patient language, then the .mo files
# the app reads (polib: no msgfmt needed). Commit the .po and .mo files.
messages: install
	$(PY) manage.py makemessages -l es -l ja --ignore=.venv --ignore=tests --ignore=bench --ignore=mutants --no-location --no-wrap
	$(PY) manage.py patient_messages
	$(PY) manage.py compile_catalogs

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
