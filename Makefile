# The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format setup test-packages clean rig

run: setup
	scripts/run.sh

test: setup test-packages
	scripts/test.sh

# The tests that need no service (no Redis, worker, daphne, SeaweedFS or chromium): about a minute.
.PHONY: test-fast
test-fast: setup test-packages
	scripts/test.sh -m "not services" -n 2

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

setup: $(VENV)/.installed static/vendor/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || scripts/ensure_system_packages.sh /usr/share/doc/python3-venv:python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# htmx and its ws extension come from the npm registry (pinned by package-lock.json) and are
# copied into static/vendor/, which git ignores: no CDN at run time, no third-party code committed.
static/vendor/.installed: package.json package-lock.json
	@scripts/ensure_system_packages.sh npm:npm
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-ws/dist/ws.js static/vendor/
	touch $@

# The tests start their own redis-server, drive Debian's chromium (never a downloaded browser), run a
# worker with a wrong clock through libfaketime (package faketime), and check archives with Info-ZIP
# unzip and libarchive's bsdtar besides Python's zipfile.
test-packages:
	@scripts/ensure_system_packages.sh /usr/bin/chromium:chromium redis-server:redis-server faketime:faketime \
	  unzip:unzip bsdtar:libarchive-tools

# Several hosts on this machine (network namespaces, cgroups; needs root and Debian's PostgreSQL):
# web, 1-3 bulk hosts, an infra host with PostgreSQL, Redis and SeaweedFS. Prints a table, writes
# bench/out/rig/. RIG_ARGS passes options, e.g. make rig RIG_ARGS="--hosts 2 --drills none".
rig: setup
	@scripts/ensure_system_packages.sh ip:iproute2 nsenter:util-linux redis-server:redis-server /usr/lib/postgresql:postgresql
	$(BIN)/python -m bench.rig $(RIG_ARGS)

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles var
