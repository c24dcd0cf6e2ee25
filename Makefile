# crossplan — the same checks locally and in CI.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export CROSSPLAN_HOME ?= $(CURDIR)/.crossplan

.PHONY: venv test lint format demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(VENV)/bin/ruff check pipelines models optimize serving tests benchmarks
	$(VENV)/bin/ruff format --check pipelines models optimize serving tests benchmarks
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix pipelines models optimize serving tests benchmarks
	$(VENV)/bin/ruff format pipelines models optimize serving tests benchmarks

demo: $(STAMP)
	$(VENV)/bin/crossplan simulate --out $(CROSSPLAN_HOME)/world --seed 7
	$(VENV)/bin/crossplan validate --regions $(CROSSPLAN_HOME)/world/regions.geojson \
		--incidents $(CROSSPLAN_HOME)/world/incidents.parquet \
		--resources $(CROSSPLAN_HOME)/world/resources.json

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
