# The book's two commands are `make book` and `make test`; both install into .venv first if needed.
# See README.md. Everything after the install runs offline.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON   ?= python3.11
VENV     := .venv
BIN      := $(CURDIR)/$(VENV)/bin
STAMP    := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard book/[0-9][0-9]_*.md))
CI_DIR   := _build/ci
SCALE    ?= paper
CHROMIUM ?= /usr/bin/chromium

# The venv's tools first (the notebook kernel is the venv's python); progress bars off in batch runs.
export PATH := $(BIN):$(PATH)
export DLTHEORY_PROGRESS ?= 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install book test lint format unit notebooks chapter bench assignments grade \
	chromium test-site clean

help:
	@echo "make book      install if needed, execute every chapter (book scale), build _build/html"
	@echo "make test      install if needed, then lint, unit tests, every chapter at ci scale"
	@echo "make chapter CH=01 [SCALE=paper|book|ci] [PROGRESS=0]   rerun one chapter, print where its outputs went"
	@echo "make bench     time the simulations against the machine's limits, write _build/bench.json"
	@echo "make assignments   student notebooks + otter autograders from every chapter's exercises"
	@echo "make grade CH=01 SUB=notebook-or-folder [TIMEOUT=300]   grade in isolation, write grades.csv"
	@echo "make test-site     browser test of the built site (after make book; needs Chromium)"
	@echo "make chromium      install Debian's Chromium for make test-site (apt, needs root)"
	@echo "make format    format the library, tests and chapter code cells (ruff via jupytext)"
	@echo "make clean     remove build outputs (keeps .venv)"

install: $(STAMP)

# torch==2.13.0 is pinned so pip takes the CPU wheel; constraints.txt pins the whole environment.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned environment into $(VENV) (a few minutes on a first run; pip lists each package)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -c constraints.txt -e '.[book,test,course]' \
	  | grep --line-buffered -E '^(Collecting|Successfully|ERROR)' || test "$${PIPESTATUS[0]}" -eq 0
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dltheory)" >/dev/null
	$(BIN)/python -m dltheory._kernel_log $(VENV)/etc/ipython >/dev/null
	@touch $@

book: $(STAMP)
	BOOK_SCALE=book $(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@echo "Site: $(CURDIR)/_build/html/index.html"

test: lint unit notebooks

lint: $(STAMP)
	@mkdir -p $(CI_DIR)/src
	@for f in $(CHAPTERS); do \
	  $(BIN)/jupytext --quiet --from myst --to ipynb --set-kernel python3 -o $(CI_DIR)/src/$$(basename $${f%.md}).ipynb $$f; \
	done
	$(BIN)/ruff check src tests bench book/_ext $(CI_DIR)/src/*.ipynb
	$(BIN)/ruff format --check src tests bench book/_ext $(CI_DIR)/src/*.ipynb

# Format the library, the tests and the code cells of every chapter in place.
format: $(STAMP)
	$(BIN)/ruff format src tests bench book/_ext
	@for f in $(CHAPTERS); do $(BIN)/jupytext --quiet --pipe "$(BIN)/ruff format {}" $$f; done

unit: $(STAMP)
	$(BIN)/pytest tests/ -q --ignore=tests/site

notebooks: lint
	@rm -rf $(CI_DIR)/results $(CI_DIR)/run && mkdir -p $(CI_DIR)/run
	@for f in $(CI_DIR)/src/*.ipynb; do \
	  $(BIN)/papermill --prepare-only -p scale ci --log-level WARNING $$f $(CI_DIR)/run/$$(basename $$f); \
	done
	DLTHEORY_RESULTS_DIR=$(CURDIR)/$(CI_DIR)/results $(BIN)/pytest --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=900 -p no:cacheprovider -q $(CI_DIR)/run/*.ipynb
	$(BIN)/python -m dltheory.record check --dir $(CI_DIR)/results --scale ci $(CHAPTERS)

# Arguments are checked when make reads this file, before anything is installed, run or created: a bad
# one stops make with a one-line message (exit 2). SCALES must list the scales of dltheory.config
# (tests/test_environment.py keeps them in step).
SCALES  := ci book paper
CH_SRC  := $(filter $(CHAPTERS),$(wildcard book/$(CH)_*.md))
CH_HELP := give the two digits of one of: $(notdir $(CHAPTERS:.md=))
ifneq ($(filter chapter grade,$(MAKECMDGOALS)),)
  ifeq ($(strip $(CH)),)
    $(error usage: make chapter CH=01 [SCALE=paper|book|ci]; make grade CH=01 SUB=notebook-or-folder [TIMEOUT=300])
  endif
  ifneq ($(words $(CH_SRC)),1)
    $(error no chapter CH=$(CH): $(CH_HELP))
  endif
endif
ifneq ($(filter chapter,$(MAKECMDGOALS)),)
  ifeq ($(filter $(SCALES),$(SCALE)),)
    $(error SCALE must be one of $(SCALES), got '$(SCALE)')
  endif
endif
ifneq ($(filter grade,$(MAKECMDGOALS)),)
  ifeq ($(wildcard $(SUB)),)
    $(error usage: make grade CH=01 SUB=notebook-or-folder [TIMEOUT=300] (no file or folder SUB='$(SUB)'))
  endif
  TIMEOUT ?= 300
  ifeq ($(shell echo '$(TIMEOUT)' | grep -Ex '[0-9]+([.][0-9]+)?'),)
    $(error TIMEOUT must be a number of seconds per submission, got '$(TIMEOUT)')
  endif
endif
ifneq ($(filter test-site,$(MAKECMDGOALS)),)
  ifeq ($(wildcard _build/html/index.html),)
    $(error no built site: run make book first)
  endif
  ifeq ($(wildcard $(CHROMIUM)),)
    $(error no Chromium at CHROMIUM=$(CHROMIUM): run make chromium, or set CHROMIUM)
  endif
endif

# A chapter run by hand shows the simulations' progress bars (one line per bar every 10 s) and the
# chapter's printed output as it runs; PROGRESS=0 keeps only papermill's cell counter.
PROGRESS ?= 1
chapter: $(STAMP)
	@src=$(CH_SRC); name=$$(basename $${src%.md}); out=_build/chapters/$(SCALE); mkdir -p $$out; \
	$(BIN)/jupytext --quiet --from myst --to ipynb --set-kernel python3 -o $$out/$$name.src.ipynb $$src; \
	DLTHEORY_RESULTS_DIR=$(CURDIR)/$$out/results DLTHEORY_PROGRESS=$(PROGRESS) TQDM_MININTERVAL=10 \
	  $(BIN)/papermill --cwd book --log-output -p scale $(SCALE) $$out/$$name.src.ipynb $$out/$$name.ipynb; \
	echo "executed notebook: $$out/$$name.ipynb"; \
	echo "record:            $$out/results/$$name.json"; \
	echo "figures:           $$out/results/figures/$$name/"

# Benchmarks (see bench/README.md); the book's Performance page renders _build/bench.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run --out _build/bench.json

# Coursework (see the "Teaching with this book" page): every chapter's exercises become an otter-grader
# assignment; the reference solutions are graded on the way and must get full marks.
ASSIGNMENTS := _build/assignments
assignments: $(STAMP)
	$(BIN)/python -m dltheory.coursework assign --out $(ASSIGNMENTS) $(CHAPTERS)

# One notebook or a folder of them: each runs alone in a sandbox (time, memory and output limits,
# as nobody when run as root); grades.csv and NAME.feedback.txt are written next to the notebooks.
grade: $(STAMP)
	$(BIN)/python -m dltheory.coursework grade --assignments $(ASSIGNMENTS) --timeout $(TIMEOUT) \
		$(CH) $(SUB)

# The site in a real browser: Playwright drives Debian's Chromium (never a downloaded browser)
# against _build/html served on localhost. Screenshots go to _build/screenshots/.
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@$(CHROMIUM) --version

test-site: $(STAMP)
	DLTHEORY_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/site -q -p no:cacheprovider

clean:
	rm -rf _build
