# Two commands on a fresh machine: `make run` and `make test`.
# Everything is installed, pinned, into .venv from the package registries.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
DEV_KEYS := dev-keys

.PHONY: install web screenshots run dev-key test test-postgres lint typecheck check lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

## The bot (with no ACCUEIL_TELEGRAM_TOKEN, the intake opens in this terminal).
## The development association key is pinned here, for `make run` only.
run: $(STAMP) dev-key web
	ACCUEIL_ASSOCIATION_KEY="$$(cat $(DEV_KEYS)/association.fingerprint)" $(VENV)/bin/accueil run

## Development only: under ./dev-keys/ (outside the data directory), an association key and a
## recipient key it certifies, their passphrase stored beside them, so transcripts can be read
## while trying things out. `make run` pins that association key; nothing else does.
dev-key: $(STAMP)
	@mkdir -p $(DEV_KEYS) && chmod 700 $(DEV_KEYS)
	@if [ ! -f $(DEV_KEYS)/passphrase ]; then \
		$(PY) -c 'import secrets; print(secrets.token_urlsafe(24))' > $(DEV_KEYS)/passphrase && \
		chmod 600 $(DEV_KEYS)/passphrase; \
	fi
	@if [ ! -f $(DEV_KEYS)/association.key ]; then \
		ACCUEIL_KEY_PASSPHRASE="$$(cat $(DEV_KEYS)/passphrase)" $(VENV)/bin/accueil keys init --association \
			--out $(DEV_KEYS)/association.key --label "DEVELOPMENT ONLY" | tail -n 1 | cut -d= -f2 \
			> $(DEV_KEYS)/association.fingerprint && \
		echo "*** DEVELOPMENT ONLY: an association key was made in $(DEV_KEYS)/; make run pins it."; \
	fi
	@if [ ! -f $(DEV_KEYS)/dev.key ]; then \
		ACCUEIL_KEY_PASSPHRASE="$$(cat $(DEV_KEYS)/passphrase)" $(VENV)/bin/accueil keys init \
			--out $(DEV_KEYS)/dev.key --label "DEVELOPMENT ONLY" --association-key $(DEV_KEYS)/association.key && \
		echo "*** DEVELOPMENT ONLY: a recipient key was made in $(DEV_KEYS)/ with its passphrase beside it." && \
		echo "*** Anyone with that folder reads every transcript. For real use: README, Going live: keys."; \
	else \
		ACCUEIL_KEY_PASSPHRASE="$$(cat $(DEV_KEYS)/passphrase)" $(VENV)/bin/accueil keys certify \
			$(DEV_KEYS)/dev.key.pub --association-key $(DEV_KEYS)/association.key >/dev/null && \
		$(VENV)/bin/accueil keys add $(DEV_KEYS)/dev.key.pub --label "DEVELOPMENT ONLY" >/dev/null; \
	fi

## The pictures in docs/ (the web chat in English and Arabic, the console's queue and a case), taken
## by the browser tests with made-up data; a plain `make test` saves them in its own temporary folders.
screenshots: $(STAMP) web
	ACCUEIL_SCREENSHOTS=docs $(PY) -m pytest -q -k "sqlite" \
		tests/web/test_chat_browser.py::test_a_whole_intake_handed_off_and_answered_from_telegram \
		tests/console/test_console_browser.py::test_a_caseworker_works_a_case_end_to_end_in_the_browser

## The whole test suite (PostgreSQL tests run when ACCUEIL_TEST_POSTGRES_URL answers).
test: $(STAMP) web
	$(PY) -m pytest

test-postgres: $(STAMP)
	ACCUEIL_TEST_POSTGRES_URL=$${ACCUEIL_TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} \
		$(PY) -m pytest -m postgres

## ruff, then mypy --strict on what pyproject.toml lists: bot, storage, testkit, tests and bench.
lint: $(STAMP)
	$(VENV)/bin/ruff check bot storage testkit tests bench
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

## Benchmarks (docs/benchmarks.md): prints a table, writes bench/results/latest.json. Loopback only.
.PHONY: bench
bench: $(STAMP)
	$(PY) -m bench

## The web pages' JavaScript (Node.js 20 or newer): installed from package-lock.json, bundled into
## bot/console/static/dist/ with manifest.json (SRI hashes). Without Node.js, one line and nothing else.
.PHONY: web
## The JavaScript of the web pages (the console's key worker): pinned npm packages, installed once per
## package-lock.json, then a reproducible esbuild build into bot/console/static/dist/. Without Node.js 20
## or newer: one line, and the bot still runs (the console's pages say their scripts are missing).
WEB_STAMP := web/node_modules/.installed-$(shell cat web/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
web:
	@if ! command -v node >/dev/null 2>&1 || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'; then \
		echo "make web: Node.js 20 or newer is not installed; the console's scripts were not built (the bot runs without them)"; \
	else \
		if [ ! -f $(WEB_STAMP) ]; then \
			(cd web && npm ci --no-audit --no-fund --loglevel=error) && rm -f web/node_modules/.installed-* && touch $(WEB_STAMP); \
		fi && cd web && node build.mjs; \
	fi