# Framegate: `make help` lists the targets. Everything runs on this machine;
# see docs/local-stack.md and framegate/stack.py.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV ?= $(ROOT)/.venv
PYTHON := $(VENV)/bin/python
STACK := $(PYTHON) -m framegate.stack

DATA ?= $(ROOT)/.data
PORT_BASE ?=
# A second checkout (a git worktree) runs its own test stack with
# TEST_DATA=... TEST_PORT_BASE=... so two test runs never share ports or data.
TEST_DATA ?= $(ROOT)/.data-test
TEST_PORT_BASE ?= 28000
# The test stack's signed playback URLs live seconds, not a minute, so the
# browser tests see the player renew them and a removed member's playback stop.
TEST_PLAYBACK_TTL ?= 6
# Notify on the test stack: the recording Slack, webhook and SMTP servers of
# the tests listen on loopback, which only an allow list opens; retries and
# note digests come within seconds rather than minutes.
TEST_NOTIFY_ENV ?= FRAMEGATE_NOTIFY_ALLOW=127.0.0.0/8 FRAMEGATE_NOTIFY_RETRY_DELAYS=1,1 \
  FRAMEGATE_NOTIFY_NOTE_QUIET_SECONDS=5 FRAMEGATE_SMTP_PORT=$$(($(TEST_PORT_BASE)+128))
T ?= tests
WORKERS ?=
BENCH_ARGS ?=

.PHONY: help install up down status test clean-test chaos bench-upload bench-transcode bench-still

include deploy/images.mk

help: ## list the targets
	@echo "usage: make <target> [VAR=value]"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "variables: WORKERS=n (up), T=tests/path (test), BENCH_ARGS=... (bench-upload), DATA=dir PORT_BASE=n"

install: ## install what is missing: Debian packages, FerretDB + S3 gateway (Go), .venv
	@$(ROOT)/deploy/local/install.sh

up: install ## start the whole platform on loopback (data in .data, ports 18xxx; WORKERS=n)
	@cd $(ROOT) && $(if $(WORKERS),FRAMEGATE_WORKERS=$(WORKERS)) \
	  $(STACK) up --data $(DATA) $(if $(PORT_BASE),--port-base $(PORT_BASE))

down: ## stop everything (data stays in .data)
	@cd $(ROOT) && if [ -x $(PYTHON) ]; then $(STACK) down --data $(DATA); fi

status: ## show each component: running/stopped, port, pid
	@cd $(ROOT) && $(STACK) status --data $(DATA)

# The test stack has its own data directory and port base, so it never touches
# what `make up` runs. It starts from an empty data directory (a stack left
# running there is stopped first, then the directory, generated credentials
# included, is deleted), so nothing from an earlier run leaks into this one.
# It is torn down afterwards whatever happens (EXIT trap), and the recipe exits
# with the status of the command it ran (make shows it as "Error N", exit 2).
define on_test_stack
	@cd $(ROOT); set -euo pipefail; \
	export XDG_CONFIG_HOME=$(TEST_DATA)/config FRAMEGATE_PLAYBACK_TTL=$(TEST_PLAYBACK_TTL); unset FRAMEGATE_CONFIG; \
	export $(TEST_NOTIFY_ENV); \
	if [ -f $(TEST_DATA)/stack.env ]; then $(STACK) down --data $(TEST_DATA) || true; fi; \
	rm -rf -- "$(TEST_DATA)"; \
	trap '$(STACK) down --data $(TEST_DATA) || echo "warning: test stack teardown failed" >&2' EXIT; \
	$(STACK) up --data $(TEST_DATA) --port-base $(TEST_PORT_BASE); \
	set -a; eval "$$($(STACK) env --data $(TEST_DATA) --port-base $(TEST_PORT_BASE))"; set +a; \
	$(1)
endef

test: install ## run the tests (T=path, default tests) against an isolated stack (.data-test, ports 28xxx)
	$(call on_test_stack,$(VENV)/bin/pytest $(T) $(if $(filter tests,$(T)),--ignore=tests/deploy))

# The long chaos run (tests/chaos/chaos.py) on its own test stack: every process
# SIGKILLed CHAOS_ROUNDS times while at least CHAOS_VERSIONS versions upload.
CHAOS_VERSIONS ?= 40
CHAOS_ROUNDS ?= 3
chaos: install ## kill every process in turn during uploads; prints lost=0 duplicated=0 stuck=0
	$(call on_test_stack,$(PYTHON) -m tests.chaos.chaos --versions $(CHAOS_VERSIONS) --rounds $(CHAOS_ROUNDS))

clean-test: ## stop the test stack and delete .data-test
	@cd $(ROOT) && if [ -f $(TEST_DATA)/stack.env ] && [ -x $(PYTHON) ]; then $(STACK) down --data $(TEST_DATA); fi
	rm -rf $(TEST_DATA)

bench-upload: up ## upload benchmark against the `make up` stack (BENCH_ARGS="--size 512M ...")
	@cd $(ROOT) && $(PYTHON) bench/upload/run.py --data $(DATA) $(BENCH_ARGS)

bench-transcode: up ## transcode benchmark against the `make up` stack (BENCH_ARGS="--order platform-first ...")
	@cd $(ROOT) && $(PYTHON) bench/transcode/run.py --data $(DATA) $(BENCH_ARGS)

bench-still: up ## exact-still benchmark (cold, cached, raw ffmpeg) against the `make up` stack (best with WORKERS=0)
	@cd $(ROOT) && $(PYTHON) bench/still/run.py --data $(DATA) $(BENCH_ARGS)
