# Two entry points for a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup locales bench clean

demo: setup
	$(BIN)/python -m bot demo

test: setup
	$(BIN)/python -m pytest

setup: $(STAMP) locales

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

locales: $(STAMP)
	$(BIN)/pybabel compile --statistics -d locales -D messages

bench: setup
	$(BIN)/python -m bench.payments

clean:
	rm -rf $(VENV) data .pytest_cache
