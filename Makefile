# Switchboard. Quick start: `make demo` (embedded, no servers) and `make test`.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PY := .venv/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard
TEST_REDIS_URL ?= redis://127.0.0.1:6379
PYTEST_ARGS ?=

.PHONY: machine install demo test lint typecheck migrations-check pytest services-check messages fuzz-full bench clean

install: .venv/.installed

.venv/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv \
	  || python3 -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

demo: install
	$(PY) -m demo.run

machine:
	@bash scripts/test-machine "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"

services-check:
	@$(PY) -m core.servicecheck "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	@# Who may import whom (pyproject.toml, [tool.importlinter]; docs/design.md, "Layers").
	.venv/bin/lint-imports

typecheck: install
	.venv/bin/mypy .

migrations-check: install
	@# Against the server's maintenance database: the check reads the migration history.
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres $(PY) manage.py makemigrations --check --dry-run

pytest: install services-check
	DATABASE_URL=$(TEST_DATABASE_URL) \
	CELERY_BROKER_URL=$(TEST_REDIS_URL)/14 \
	CACHE_URL=rediscache://127.0.0.1:6379/15 \
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test: machine install lint typecheck services-check migrations-check pytest

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=artifacts --ignore=bench --no-obsolete --add-location=file
	$(PY) manage.py makemessages -d djangojs -l zh_Hans --ignore=.venv --ignore=var --ignore=artifacts --ignore=bench --ignore=static/vendor --ignore=staticfiles --ignore=frontend --ignore=tests --no-obsolete --add-location=file
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

fuzz-full: install services-check
	@# The documented full-size fuzz: up to 124,000 API cases (1,000 per operation and role), 10,000 bodies per webhook
	@# receiver, 1,000 examples per upstream parser (see docs/testing.md).
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL)/14 CACHE_URL=rediscache://127.0.0.1:6379/15 \
	FUZZ_FULL=1 SB_FUZZ_EXAMPLES=10000 $(PY) -m pytest -p no:xdist \
	  tests/test_api_fuzz.py webhooks/tests/test_fuzz.py upstream/tests/test_properties.py

clean:
	rm -rf var artifacts .mypy_cache .ruff_cache
