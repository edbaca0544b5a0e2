# Two commands on a fresh machine: `make run` and `make test`.
# Everything is installed, pinned, into .venv from the package registries.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
DEV_KEYS := dev-keys

.PHONY: install run test test-postgres lint typecheck check lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

## The bot (with no ACCUEIL_TELEGRAM_TOKEN, the intake opens in this terminal).
run: $(STAMP)
	$(VENV)/bin/accueil run

## The whole test suite (PostgreSQL tests run when ACCUEIL_TEST_POSTGRES_URL answers).
test: $(STAMP)
	$(PY) -m pytest

test-postgres: $(STAMP)
	ACCUEIL_TEST_POSTGRES_URL=$${ACCUEIL_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} \
		$(PY) -m pytest -m postgres

lint: $(STAMP)
	$(VENV)/bin/ruff check bot storage tests
	$(VENV)/bin/mypy

check: lint test

## Re-pin every package after changing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]' setuptools wheel
	( echo '# Every package, pinned. Regenerate with `make lock` after changing pyproject.toml.'; \
	  .lock-venv/bin/pip freeze --all --exclude-editable | grep -v '^pip==' ) > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
