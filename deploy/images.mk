# Container images and deploy checks; included from the Makefile.
# deploy/images/ builds the images (see its scripts), k8s/ holds the manifests,
# deploy/monitoring/ the Prometheus and Grafana config; tests/deploy checks all three.
ROOT ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
VENV ?= $(ROOT)/.venv
TAG ?= dev
# The deploy tests run the images against a stack of their own (under
# .data-test, so `make clean-test` removes it), beside `make test`'s.
DEPLOY_TEST_DATA ?= $(ROOT)/.data-test/deploy
DEPLOY_TEST_PORT_BASE ?= 29000
DEPLOY_T ?= tests/deploy

.PHONY: images dev-images deploy-tools test-deploy

images: ## build the service images with podman (base from debootstrap) and print their sizes
	@$(ROOT)/deploy/images/tools.sh debian
	@TAG=$(TAG) $(ROOT)/deploy/images/images.sh

# The dev overlay's PostgreSQL, FerretDB, RabbitMQ, S3 gateway and CDN (nginx
# with the local stack's template): Debian packages plus the Go servers
# `make install` builds into .cache/bin.
dev-images: install ## build the dev overlay's server images (k8s/overlays/dev) and print their sizes
	@$(ROOT)/deploy/images/tools.sh debian
	@TAG=$(TAG) $(ROOT)/deploy/images/images.sh dev

deploy-tools: install ## install kustomize, promtool and the manifest validator (for test-deploy)
	@$(ROOT)/deploy/images/tools.sh debian kustomize python

# Builds the images, starts the deploy test stack, runs tests/deploy (DEPLOY_T=path
# for one file) and always tears the stack down; exits with pytest's status.
test-deploy: install deploy-tools images dev-images ## test images (containerised upload + transcode), k8s manifests, kube play of the dev overlay, monitoring
	@cd $(ROOT); set -euo pipefail; \
	export XDG_CONFIG_HOME=$(DEPLOY_TEST_DATA)/config CONTAINERS_CONF=$(ROOT)/deploy/images/containers.conf \
	  FRAMEGATE_DEPLOY_TESTS=require TAG=$(TAG); unset FRAMEGATE_CONFIG; \
	trap '$(VENV)/bin/python -m framegate.stack down --data $(DEPLOY_TEST_DATA) >/dev/null || echo "warning: deploy test stack teardown failed" >&2' EXIT; \
	$(VENV)/bin/python -m framegate.stack up --data $(DEPLOY_TEST_DATA) --port-base $(DEPLOY_TEST_PORT_BASE); \
	set -a; eval "$$($(VENV)/bin/python -m framegate.stack env --data $(DEPLOY_TEST_DATA) --port-base $(DEPLOY_TEST_PORT_BASE))"; set +a; \
	$(VENV)/bin/pytest $(DEPLOY_T)
