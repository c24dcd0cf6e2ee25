# crossplan — the same checks locally and in CI.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export CROSSPLAN_HOME ?= $(CURDIR)/.crossplan

.PHONY: venv test lint format demo bench bench-peers bento clean

# .ci/services.sh installs what the machine lacks (Debian packages, with apt-get).
$(STAMP): pyproject.toml
	.ci/services.sh venv $(PYTHON)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Chromium and ChromeDriver for the page's tests, PostgreSQL for the database tests, and a
# server of the run's own unless CROSSPLAN_TEST_POSTGRES_URL names one.
test: $(STAMP)
	PYTHON=$(PY) .ci/services.sh test $(PY) -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(VENV)/bin/ruff check pipelines models optimize serving tests benchmarks
	$(VENV)/bin/ruff format --check pipelines models optimize serving tests benchmarks
	@mkdir -p .mypy/crossplan && for d in models optimize pipelines serving; do ln -sfn ../../$$d .mypy/crossplan/$$d; done
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix pipelines models optimize serving tests benchmarks
	$(VENV)/bin/ruff format pipelines models optimize serving tests benchmarks

# The whole job: a world, a validated panel, a trained champion, a key, the service. The
# world's history ends with last week (today's date, when make runs), so its first plan is
# for this week; the import adds those weeks to a database an earlier demo filled.
demo: $(STAMP)
	$(VENV)/bin/crossplan simulate --out $(CROSSPLAN_HOME)/world --seed 7 --end last-week --quiet
	$(VENV)/bin/crossplan validate --regions $(CROSSPLAN_HOME)/world/regions.geojson \
		--incidents $(CROSSPLAN_HOME)/world/incidents.parquet \
		--resources $(CROSSPLAN_HOME)/world/resources.json
	$(VENV)/bin/crossplan import --data $(CROSSPLAN_HOME)/world
	$(VENV)/bin/crossplan train --data $(CROSSPLAN_HOME)/world
	@KEY=$$($(VENV)/bin/crossplan keys add demo-planner --role planner --replace) && echo && \
	 echo "The map page: http://localhost:3000/  (sign in with the key below; Ctrl-C stops the service)" && \
	 echo "API manual:   http://localhost:3000/docs" && echo && \
	 echo "Planner key (also for the page): $$KEY" && \
	 echo "Plan the next 4 weeks with the demo world's resources:" && echo && \
	 echo "  curl -s -X POST http://localhost:3000/plan -H 'Authorization: Bearer $$KEY' -H 'Content-Type: application/json' -d '{\"horizon\": 4}'" && echo
	$(VENV)/bin/crossplan serve --data $(CROSSPLAN_HOME)/world --port 3000

# A Bento of the service: crossplan's wheel (dist/), then `bentoml build` (bentofile.yaml).
bento: $(STAMP)
	$(PY) -m pip wheel --no-deps --no-build-isolation -q -w dist .
	$(VENV)/bin/bentoml build .

bench: $(STAMP)
	$(PY) -m benchmarks

# The peers (mlforecast, statsforecast) need pandas < 3: they live in an environment of their own.
PEERS := .venv-peers
$(PEERS)/.installed: benchmarks/peers/requirements.txt
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet -r benchmarks/peers/requirements.txt
	touch $(PEERS)/.installed

bench-peers: $(STAMP) $(PEERS)/.installed
	$(PY) -m benchmarks.bench_peers

clean:
	rm -rf $(VENV) $(PEERS) .pytest_cache .mypy_cache .mypy .ruff_cache dist
