# `make run` and `make test` are the two set-up commands (see README.md).
# Every target installs into .venv first, with the Python that scripts/find-python picks.

VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv run serve test lint check messages bench bench-browser bench-import bench-hostile load clean

venv: $(VENV)/.installed

# Rebuilt when requirements.txt changes, or when .venv is missing or older than Python 3.12.
$(VENV)/.installed: requirements.txt
	$(PY) -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null || \
		{ rm -rf $(VENV) && python="$$(scripts/find-python)" && "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# SQLite (db.sqlite3) unless DATABASE_URL is set; seed_demo prints the demo logins. A worker
# (db_worker) runs beside the server and checks and applies uploaded spreadsheets; it stops with it.
run: export DJANGO_DEBUG := true
run: venv
	$(PY) manage.py migrate
	$(PY) manage.py load_reference_data
	$(PY) manage.py seed_demo
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver 127.0.0.1:8000

# Production-style serving: gunicorn on PostgreSQL, static files through WhiteNoise, and one background
# worker for uploads (docs/operations.md runs it as a service of its own). Needs
# DATABASE_URL, DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS (see .env.example and docs/operations.md).
serve: venv
	@test -n "$$DATABASE_URL" || { echo "make serve: set DATABASE_URL to a PostgreSQL database (see docs/operations.md)." >&2; exit 2; }
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py check --deploy --fail-level ERROR
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(VENV)/bin/gunicorn --config config/gunicorn.py config.wsgi

# PostgreSQL when DATABASE_URL is set, SQLite otherwise. Exit 5 means pytest collected nothing.
test: venv
	$(PY) -m pytest $(PYTEST_ARGS) || { code=$$?; \
		[ $$code -ne 5 ] || echo "make test: pytest collected no tests (exit 5); that counts as a failure." >&2; \
		exit $$code; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: export DJANGO_DEBUG ?= true
check: venv
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# The French, Spanish and Arabic catalogues (locale/): gather the marked strings, then, once
# they are translated, compile them. The compiled .mo files are committed. Needs gettext.
MAKEMESSAGES := $(PY) manage.py makemessages --locale fr --locale es --locale ar --no-obsolete \
	--ignore '.venv*' --ignore build --ignore staticfiles --ignore tests --ignore docs --ignore scripts
messages: export DJANGO_DEBUG ?= true
messages: venv
	$(MAKEMESSAGES)
	$(PY) manage.py compilemessages --locale fr --locale es --locale ar --ignore '.venv*'

# The dashboard benchmark (docs/performance.md) on a throwaway PostgreSQL cluster: migrate, build
# 1.5 million history rows, time the pages. Options: make bench BENCH_ARGS="--runs 5 --budget 30".
BENCH_ARGS ?=
bench: export DJANGO_DEBUG := false
bench: export DJANGO_SECRET_KEY := bench-only-key-for-a-throwaway-database-that-serves-nobody
bench: venv
	PYTHON=$(PY) scripts/with-postgres sh -c \
		'$(PY) manage.py migrate --verbosity 0 && $(PY) manage.py collectstatic --no-input --verbosity 0 && \
		$(PY) manage.py bench_dashboards $(BENCH_ARGS)'

# The dashboards in Chromium under Slow 4G (docs/performance.md, "In a browser"): gunicorn on loopback
# serving the benchmark dataset on a throwaway PostgreSQL cluster. Options: make bench-browser BROWSER_RUNS=5.
BROWSER_RUNS ?= 3
bench-browser: venv
	PYTHON=$(PY) scripts/bench-browser $(BROWSER_RUNS)

# The bulk import benchmark (docs/performance.md, "Bulk import") on a throwaway PostgreSQL cluster:
# 14,000 rows read, checked, previewed and confirmed. Options: make bench-import BENCH_ARGS="--runs 5".
bench-import: export DJANGO_DEBUG := false
bench-import: export DJANGO_SECRET_KEY := bench-only-key-for-a-throwaway-database-that-serves-nobody
bench-import: venv
	PYTHON=$(PY) scripts/with-postgres sh -c \
		'$(PY) manage.py migrate --verbosity 0 && $(PY) manage.py bench_import $(BENCH_ARGS)'
# Reading each hostile workbook of devtools/hostile_files.py (docs/performance.md, "Hostile files"): time and peak
# memory until it is refused. No database. Options: make bench-hostile BENCH_ARGS="--runs 5".
bench-hostile: export DJANGO_DEBUG := false
bench-hostile: export DJANGO_SECRET_KEY := bench-only-key-for-reading-files-that-serves-nobody
bench-hostile: venv
	$(PY) manage.py bench_hostile_files $(BENCH_ARGS)

# Load and fault test on loopback (docs/operations.md, docs/performance.md): gunicorn + a throwaway
# PostgreSQL, 64 users for 30 s on an older commit (LOAD_OLD, checked out into a temporary git worktree)
# and on this tree, compared; then the same on this tree while PostgreSQL restarts. About four minutes.
LOAD_OLD ?= b8a03d0
.venv-load/.installed: scripts/load/requirements.txt
	python="$$(scripts/find-python)" && "$$python" -m venv .venv-load
	.venv-load/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/load/requirements.txt
	touch $@

load: venv .venv-load/.installed
	PYTHON=$(PY) LOAD_OLD_COMMIT=$(LOAD_OLD) scripts/load-test

clean:
	rm -rf $(VENV) .venv-load staticfiles .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
