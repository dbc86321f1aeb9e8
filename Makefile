# Two commands for a fresh machine with Python 3.11 (see README):
#   make demo   install runtime deps, generate demo data, build the marts, answer the questions
#   make test   install runtime + test deps, run every test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
USERS  ?= 100000
OUT    ?= out

.PHONY: demo test lint install install-dev clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# requirements-gbstats.txt (test-only reference) is installed with --no-deps: gbstats declares
# numpy<2 and pandas<2, which requirements.txt's pins overrule; see that file.
$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt requirements-bqemu.txt requirements-gbstats.txt
	$(PY) -m pip install -q -r requirements-dev.txt -r requirements-bqemu.txt
	$(PY) -m pip install -q --no-deps -r requirements-gbstats.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

demo: install
	$(PY) -m bot demo --users $(USERS) --out $(OUT)

test: install-dev
	$(VENV)/bin/ruff check bot tests benchmarks
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check bot tests benchmarks

clean:
	rm -rf $(VENV) data out dbt_project/target dbt_project/logs
