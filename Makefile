# `make demo` and `make test` set everything up from a fresh clone.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

LOCK := requirements.lock

.PHONY: setup demo test lint lock check-deps clean

setup: $(STAMP)

# The exact tested versions (requirements.lock, every transitive package) with --no-deps, then agileclf itself;
# pyproject.toml keeps open ranges for library users.
$(STAMP): pyproject.toml constraints.txt $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, CPU build, so nothing below can pull the CUDA one
	$(PY) -m pip install --quiet "torch==2.13.0+cpu"
	$(PIP) --no-deps -r $(LOCK)
	$(PIP) --no-deps -e .
	touch $(STAMP)

# After adding or upgrading a dependency and passing `make test`: pin every package of the venv (VENV=... for
# another one, e.g. make lock VENV=/work/main/.venv). Packages installed --no-deps on purpose: .ci/no-deps.txt.
lock:
	$(PY) .ci/lock.py check
	$(PY) .ci/lock.py write $(LOCK)

# pip check on the venv (what CI runs after installing the lock)
check-deps: $(STAMP)
	$(PY) .ci/lock.py check

demo: $(STAMP)
	$(VENV)/bin/agileclf demo

# One pytest-xdist worker per core (most tests use one core); TEST_WORKERS=0 runs them in this process
TEST_WORKERS ?= auto
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	PYTHONPATH=src $(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) agileclf-demo .pytest_cache
