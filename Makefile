# Two entry points for a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The card page's browser test drives Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM := /usr/bin/chromium
# The pictures' font, with Cyrillic and Uzbek Latin (bot/pictures/canvas.py; without it Pillow's Latin-only font).
FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup locales bench clean

# `make demo DEMO_USER=1002` chats as another Telegram user; DEMO_KEEP=1 keeps the last run's database and cards.
DEMO_USER ?= 1001
demo: setup
	$(BIN)/python -m bot demo --user-id $(DEMO_USER)

# The kill tests (tests/crash) mostly wait on the bot processes they start and kill: they run beside the rest of
# the suite, with the browser and packaging tests (Chromium, pip: other processes too), each run with its own
# PostgreSQL and its own card-data audit (tests/zz_audit); either failing fails. Both list their slowest tests.
CRASH_LOG := .crash-tests.log
BESIDE := tests/crash tests/browser tests/packaging
test: setup $(CHROMIUM) $(FONT)
	@$(BIN)/python -m pytest -p no:cacheprovider --durations=10 $(BESIDE) tests/zz_audit > $(CRASH_LOG) 2>&1 & crash=$$!; \
	$(BIN)/python -m pytest --durations=15 $(addprefix --ignore=,$(BESIDE)); main=$$?; \
	wait $$crash; crashed=$$?; \
	echo; echo "---- $(BESIDE), run beside the rest ----"; cat $(CRASH_LOG); \
	[ $$main -eq 0 ] && [ $$crashed -eq 0 ]

setup: $(STAMP) locales

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver

$(FONT):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-dejavu-core

locales: $(STAMP)
	$(BIN)/pybabel compile --statistics -d locales -D messages

# This bot against a bare aiogram echo bot, a table per database, and the bot's top five costs by py-spy (the
# optional `bench` dependencies; bench/compare.py, about 7 minutes per database on 2 cores). `make bench
# BENCH_ARGS=--quick` for a short run. Then the older per-payment benches.
BENCH_ARGS ?= --database both --profile
bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.compare $(BENCH_ARGS)
	$(BIN)/python -m bench.payments
	$(BIN)/python -m bench.payme_payments
	$(BIN)/python -m bench.flows 100
	$(BIN)/python -m bench.webhook

clean:
	rm -rf $(VENV) data .pytest_cache $(CRASH_LOG)
