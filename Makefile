# dtwin — make targets are the single source of truth; CI (.ci/run) calls `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MACHINES ?= 50
SCENARIO ?=
APT_PACKAGES := postgresql redis-server mosquitto mosquitto-clients chromium poppler-utils prometheus

.PHONY: help demo dev test test-backend test-pipeline test-frontend test-e2e lint fmt bench migrate \
        frontend system-deps venv compose-check clean client client-check bench-frontend screenshots

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  \033[36m%-15s\033[0m %s\n",$$1,$$2}'

# ---------------------------------------------------------------------------------------------- setup
# three distributions, editable: the backend (dtwin), the pipeline (dtwin-pipeline) and the dev-only devkit
# (dtwin-devkit: test servers and helpers, `dtwin dev`, benchmarks). Re-run when a pyproject changes: the entry
# points the backend finds the pipeline and the devkit by (`dtwin.cli`, `dtwin.feeders`) live there.
$(VENV)/.installed: backend/pyproject.toml data-pipeline/pyproject.toml backend/devkit/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e 'backend[dev]' -e data-pipeline -e backend/devkit
	touch $@

venv: $(VENV)/.installed ## create the virtualenv and install backend, data-pipeline and devkit (editable)

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(shell find frontend/src frontend/index.html frontend/public -type f 2>/dev/null)
	cd frontend && npm run build --silent

frontend: frontend/dist/index.html ## build the dashboard into frontend/dist

system-deps: ## install the Debian packages tests need (PostgreSQL, Redis, Mosquitto, Chromium, Prometheus) if missing
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ------------------------------------------------------------------------------------------------ run
demo: venv frontend ## run everything in one process on embedded defaults, simulator included (PORT, MACHINES or SCENARIO=file.yaml)
	@echo "dtwin demo: dashboard http://localhost:$(PORT)/  API docs http://localhost:$(PORT)/docs"
	$(BIN)/dtwin demo --host 0.0.0.0 --port $(PORT) $(if $(SCENARIO),--scenario $(SCENARIO),$(if $(DTWIN_SIMULATOR_SCENARIO),,--machines $(MACHINES)))

dev: venv frontend ## real mode against local PostgreSQL/Redis/Mosquitto + a Tansu broker: backend, bridge, simulator
	$(BIN)/dtwin dev --port $(PORT) --machines $(MACHINES)

migrate: venv ## apply database migrations to DTWIN_DATABASE_URL
	$(BIN)/dtwin migrate

# ------------------------------------------------------------------------------------- typed client
CLIENT_DIR := frontend/src/api
OPENAPI_TS := cd frontend && npx --no-install openapi-typescript

client: venv frontend/node_modules/.installed ## regenerate the TypeScript API types from the backend's OpenAPI
	$(BIN)/dtwin openapi --out $(CLIENT_DIR)/openapi.json
	$(OPENAPI_TS) src/api/openapi.json -o src/api/schema.d.ts --alphabetize --root-types --root-types-no-schema-prefix --silent

client-check: venv frontend/node_modules/.installed ## fail if the committed API types differ from the backend's OpenAPI
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	$(BIN)/dtwin openapi --out $$tmp/openapi.json 2>/dev/null && \
	( cd frontend && npx --no-install openapi-typescript $$tmp/openapi.json -o $$tmp/schema.d.ts --alphabetize --root-types --root-types-no-schema-prefix --silent ) && \
	for f in openapi.json schema.d.ts; do \
	  if ! cmp -s $$tmp/$$f $(CLIENT_DIR)/$$f; then \
	    echo "client-check: $(CLIENT_DIR)/$$f is out of date with the backend's OpenAPI; run 'make client' and commit it" >&2; \
	    diff -u $(CLIENT_DIR)/$$f $$tmp/$$f | head -40 >&2; exit 1; \
	  fi; \
	done; echo "client-check: generated API types are up to date"

# ----------------------------------------------------------------------------------------------- test
test: system-deps venv frontend lint test-backend test-pipeline test-frontend test-e2e compose-check ## everything
	@echo "make test: all suites passed"

test-backend: venv ## backend unit, integration (real servers) and end-to-end tests
	cd backend && ../$(BIN)/pytest -q

test-pipeline: venv ## data-pipeline unit and integration tests
	cd data-pipeline && ../$(BIN)/pytest -q

test-frontend: frontend/node_modules/.installed ## Vitest component tests
	cd frontend && npm test --silent

test-e2e: venv frontend system-deps ## Playwright in Debian Chromium against the backend in demo mode
	cd frontend && npx playwright test

lint: venv frontend/node_modules/.installed ## ruff, ruff format --check, mypy, import boundaries, eslint + tsc
	$(BIN)/ruff check backend data-pipeline
	$(BIN)/ruff format --check backend data-pipeline
	cd backend && ../$(BIN)/mypy src
	cd data-pipeline && ../$(BIN)/mypy src
	cd backend/devkit && ../../$(BIN)/mypy src
	$(BIN)/lint-imports --config .importlinter
	cd frontend && npm run lint --silent
	$(MAKE) --no-print-directory client-check

fmt: venv ## format Python code
	$(BIN)/ruff check --fix backend data-pipeline
	$(BIN)/ruff format backend data-pipeline

compose-check: venv ## validate docker-compose.yml against the Compose spec (offline)
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

# ---------------------------------------------------------------------------------------------- bench
BENCH_OUT ?= docs/benchmarks.md
BENCHES := bench-pipeline bench-50k bench-scaleout bench-simulator bench-bridge bench-twins bench-changes bench-scoring bench-scoring-share bench-alarms-share bench-detection bench-generality bench-lifecycle bench-forecast bench-dryrun bench-reports bench-observability bench-soak
.PHONY: $(BENCHES)

bench: system-deps venv bench-frontend $(BENCHES) ## run the real pipeline at rising load and every other benchmark; print and record figures in docs/benchmarks.md

# the benchmarks live in the dev-only devkit (backend/devkit, package dtwin_devkit.bench), not in the dtwin wheel
bench-pipeline: system-deps venv ## devices -> Mosquitto -> bridge -> Kafka -> backend -> browser at 10k..50k readings/s (BENCH_OUT=file to record elsewhere)
	$(BIN)/python -m dtwin_devkit.bench.pipeline --out $(BENCH_OUT)

bench-50k: system-deps venv ## #21's target: 50,000 readings/s on this machine with 2 backend processes (one per core, one consumer group), measured 30 s after 30 s of warm-up
	$(BIN)/python -m dtwin_devkit.bench.pipeline --out $(BENCH_OUT) --steps 50000 --backends 2 --warmup 30 --seconds 30

bench-scaleout: system-deps venv ## the same with 2 backends and 2 bridges, at 10k and 50k readings/s
	$(BIN)/python -m dtwin_devkit.bench.pipeline --out $(BENCH_OUT) --steps 10000,50000 --backends 2 --bridges 2

bench-simulator: system-deps venv ## how fast `dtwin simulate` publishes into Mosquitto
	$(BIN)/python -m dtwin_devkit.bench.simulator --out $(BENCH_OUT)

bench-bridge: system-deps venv ## MQTT -> Kafka throughput of 1 and 2 bridge processes on a shared subscription
	$(BIN)/python -m dtwin_devkit.bench.bridge --out $(BENCH_OUT)

bench-soak: system-deps venv ## backend memory at 10,000 readings/s from 10,000 machines for 30 min (SOAK_MINUTES=...)
	$(BIN)/python -m dtwin_devkit.bench.soak --minutes $(or $(SOAK_MINUTES),30) --out $(BENCH_OUT)

bench-twins: system-deps venv ## fleet list and filter latency over 10,000 twins
	$(BIN)/python -m dtwin_devkit.bench.twins --out $(BENCH_OUT)

bench-changes: venv ## the change stream's per-change CPU cost: decode, fleet view, WebSocket fan-out (no servers, ~10 s)
	$(BIN)/python -m dtwin_devkit.bench.changes --out $(BENCH_OUT)

bench-scoring: venv ## the anomaly scoring engine alone (no servers, ~20 s)
	$(BIN)/python -m dtwin_devkit.bench.scoring --out $(BENCH_OUT)

bench-scoring-share: system-deps venv ## what scoring adds to the consumer's batch
	$(BIN)/python -m dtwin_devkit.bench.scoring_share --out $(BENCH_OUT)

bench-alarms-share: system-deps venv ## what alarm evaluation adds to the consumer's batch (target <= 10% at 50k readings/s)
	$(BIN)/python -m dtwin_devkit.bench.alarms_share --out $(BENCH_OUT)

bench-detection: venv ## anomaly detection quality against the simulator's ground truth
	$(BIN)/python -m dtwin_devkit.bench.detection --out $(BENCH_OUT)

bench-generality: venv ## anomaly detection across kinds of series: NAB scores of the engine and three baselines per structure class on the labelled corpus (backend/devkit/corpus), throughput (no servers, ~10 s)
	$(BIN)/python -m dtwin_devkit.bench.generality --out $(BENCH_OUT)

bench-lifecycle: system-deps venv ## rollups' cost to ingest (consumer stage and whole pipeline), 90-day/1-year history latency, archival rate (~15 min)
	$(BIN)/python -m dtwin_devkit.bench.lifecycle --out $(BENCH_OUT)

bench-forecast: venv ## forecast MASE vs seasonal-naive and interval coverage on simulated meters and pumps (no servers, ~1 min)
	$(BIN)/python -m dtwin_devkit.bench.forecast --out $(BENCH_OUT)

bench-dryrun: venv ## the desired-state dry run's predictor back-tested on the simulator after real commands: error per type/sensor, interval coverage (no servers, ~1 min)
	$(BIN)/python -m dtwin_devkit.bench.dryrun --out $(BENCH_OUT)

bench-reports: system-deps venv ## a monthly site report of each kind for 1,000 machines (target < 10 s); first pages into docs/screenshots (~4 min)
	$(BIN)/python -m dtwin_devkit.bench.reports --out $(BENCH_OUT) --first-pages docs/screenshots

bench-observability: system-deps venv ## what metrics and tracing (1%) cost the consumer batch, the bridge and the whole pipeline, both ways (~10 min)
	$(BIN)/python -m dtwin_devkit.bench.observability --out $(BENCH_OUT)

bench-frontend: venv frontend system-deps ## dashboard figures with 1,000 machines at 1 Hz (Playwright; prints, records in docs/benchmarks.md)
	cd frontend && PW_SUITE=perf npx playwright test -c playwright.bench.config.ts

screenshots: venv frontend system-deps ## retake docs/screenshots/*.png of every dashboard view (demo with 50 machines)
	cd frontend && PW_SUITE=screenshots npx playwright test -c playwright.bench.config.ts

# ---------------------------------------------------------------------------------------------- chaos
CHAOS_ARGS ?=
.PHONY: chaos
chaos: system-deps venv ## fault injection under ~5,000 readings/s: backend/bridge kill -9, PostgreSQL outage, Redis and Kafka restarts (~12 min; CHAOS_ARGS="--scenarios redis-restart")
	$(BIN)/python -m dtwin_devkit.chaos --out $(BENCH_OUT) $(CHAOS_ARGS)

clean: ## remove virtualenv, node_modules, builds and local data
	rm -rf $(VENV) frontend/node_modules frontend/dist var
