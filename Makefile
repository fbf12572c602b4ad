# golden — golden images on Incus. `make help` lists the targets.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
PROFILE ?= release
BIN     := target/$(PROFILE)
TOOLS   := golden-create golden-derive golden-publish golden-ls

.PHONY: help build test check demo bench incus-start incus-stop clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build the four tools (release)
	$(CARGO) build --release --bins

test: ## install what is missing, start the private Incus, run every test
	tests/run.sh

check: ## formatting and lints, as before every commit
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

demo: build ## bring up the private Incus and walk the golden workflow
	tests/demo.sh

bench: build ## golden-ls against the per-project incus list loop, on the private Incus
	tests/bench.sh

incus-start: ## start (or reuse) the private Incus used by tests and demo
	tests/incus.sh start

incus-stop: ## stop the private Incus and remove all its traces
	tests/incus.sh stop

clean: ## remove build output
	$(CARGO) clean
