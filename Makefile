# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= $(or $(CHECKOUT_CHROMIUM),/usr/bin/chromium)
PO := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: install run sandbox test lint chromium catalogs extract update-catalogs clean

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

run: install
	CHECKOUT_MODE=sandbox $(BIN)/flask --app checkout run --host 127.0.0.1 --port 5000

# The embedded gateway as its own server on another origin.
sandbox: install
	$(BIN)/flask --app checkout.gateway.sandbox run --host 127.0.0.1 --port 5001

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance translations/*/LC_MESSAGES/*.mo
