# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= $(or $(CHECKOUT_CHROMIUM),/usr/bin/chromium)
PO := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
AXE_VERSION ?= 4.14.1
AXE := build/node/node_modules/axe-core/axe.min.js

.PHONY: install run worker serve sandbox test test-fast lint chromium postgresql catalogs extract update-catalogs clean axe baselines bench

install: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d translations -l $* -i $< -o $@

catalogs: $(MO)

# Debian's chromium for the browser tests (never `playwright install`: no downloads here).
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	else echo "chromium is missing: run 'sudo apt-get install -y chromium' (browser tests will fail)"; fi

# Debian's PostgreSQL server for the tests: they start a throwaway cluster of their own
# (tests/pg.py) in a temporary folder, on a free loopback port, as the postgres user.
postgresql:
	@if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's postgresql"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "postgresql is missing: run 'sudo apt-get install -y postgresql' (the PostgreSQL tests will fail)"; fi

# The sandbox with its worker in-process: notifications reach the demo store (/demo/notifications).
run: install
	CHECKOUT_MODE=sandbox CHECKOUT_WORKER_IN_PROCESS=1 $(BIN)/flask --app checkout run --host 127.0.0.1 --port 5000

# The worker on its own (production: one or more next to the servers).
worker: install
	$(BIN)/flask --app checkout worker

# gunicorn as in production: settings and their CHECKOUT_* variables in gunicorn.conf.py.
serve: install
	$(BIN)/gunicorn -c gunicorn.conf.py 'checkout:create_app()'

# The embedded gateway as its own server on another origin.
sandbox: install
	$(BIN)/flask --app checkout.gateway.sandbox run --host 127.0.0.1 --port 5001

# axe-core from npm for the accessibility test (tests/test_a11y.py skips without npm).
axe: $(AXE)
$(AXE):
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --prefix build/node axe-core@$(AXE_VERSION); \
	else echo "npm is missing: the accessibility test will be skipped (apt-get install npm)"; fi

# Refresh tests/baselines/ after an intended change to the pages; review the PNGs before committing.
baselines: install chromium
	CHECKOUT_UPDATE_BASELINES=1 $(BIN)/pytest -q tests/test_visual.py

test: install chromium axe postgresql
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# Everything but the browser tests (SQLite and PostgreSQL), for a quick round.
test-fast: install postgresql
	$(BIN)/pytest -q -m "not browser"

# Debian's hey, the native load generator of the server's p99 (without it: not measured).
.PHONY: hey
hey:
	@command -v hey >/dev/null || (test "$$(id -u)" = 0 && export DEBIAN_FRONTEND=noninteractive && \
	  (apt-get install -y -qq hey >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq hey >/dev/null))) || \
	  echo "hey is missing: run 'sudo apt-get install -y hey' (the p99 figures will not be measured)"

# The performance figures (README "Performance"): page weight, first paint in Chromium,
# the server under load, memory. One benchmark alone: make bench BENCH=server
bench: install chromium hey
	$(BIN)/python -m bench.run $(BENCH)

lint: install
	$(BIN)/ruff check .

extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance translations/*/LC_MESSAGES/*.mo
