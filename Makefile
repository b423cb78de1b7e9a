# `make demo` and `make test` set everything up from a fresh clone.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, CPU build, so nothing below can pull the CUDA one
	$(PY) -m pip install --quiet "torch==2.13.0+cpu"
	$(PIP) -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/agileclf demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	PYTHONPATH=src $(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) agileclf-demo .pytest_cache
