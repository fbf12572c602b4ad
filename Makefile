# golden — golden images on Incus. `make help` lists the targets.
#
# The tool targets pass every variable to the tool as data: values are read
# with $(value ...) and handed over in the environment, so shell syntax in a
# name is never run, only refused by the tool's name check.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BIN     := target/release
TOOLS   := golden-create golden-derive golden-publish golden-ls golden-refresh golden-identity golden-revoke golden-retire

BINDIR  := $(DESTDIR)$(PREFIX)/bin
MAN1DIR := $(DESTDIR)$(PREFIX)/share/man/man1
MAN7DIR := $(DESTDIR)$(PREFIX)/share/man/man7
BASHDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR  := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

.PHONY: help build test check demo bench fuzz man completions install uninstall deb clean \
        incus-start incus-stop golden-create golden-derive golden-publish golden-list golden-ls \
        golden-refresh

help: ## list the targets
	@grep -E '^[a-zA-Z_ -]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build the tools (release)
	$(CARGO) build --release --bins -p golden-create -p golden-derive -p golden-publish -p golden-ls -p golden-refresh -p golden-identity -p golden-revoke -p golden-retire

test: ## install what is missing, start the private Incus, run every test
	tests/run.sh

check: ## formatting, lints and the source's structure, as before every commit
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test -q -p golden-tests --test structure

demo: build ## bring up the private Incus and walk the golden workflow
	tests/demo.sh

bench: build ## measure against what users do today, on the private Incus
	tests/bench.sh

fuzz: ## fuzz record parsing, name templates and names (FUZZ_SECONDS each, default 60)
	tests/fuzz.sh

man completions: ## regenerate man/ and completions/ from the parsers
	$(CARGO) run -q -p xtask -- gen-docs

incus-start: ## start (or reuse) the private Incus used by tests and demo
	tests/incus.sh start

incus-stop: ## stop the private Incus and remove all its traces
	tests/incus.sh stop

install: build ## install binaries, man pages and completions under PREFIX (DESTDIR too)
	install -d $(BINDIR) $(MAN1DIR) $(MAN7DIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR)
	for t in $(TOOLS); do \
	    install -m 755 $(BIN)/$$t $(BINDIR)/$$t; \
	    install -m 644 man/$$t.1 $(MAN1DIR)/$$t.1; \
	    install -m 644 completions/$$t.bash $(BASHDIR)/$$t; \
	    install -m 644 completions/_$$t $(ZSHDIR)/_$$t; \
	    install -m 644 completions/$$t.fish $(FISHDIR)/$$t.fish; \
	done
	install -m 644 man/golden.7 $(MAN7DIR)/golden.7

uninstall: ## remove exactly what install put there
	for t in $(TOOLS); do \
	    rm -f $(BINDIR)/$$t $(MAN1DIR)/$$t.1 $(BASHDIR)/$$t $(ZSHDIR)/_$$t $(FISHDIR)/$$t.fish; \
	done
	rm -f $(MAN7DIR)/golden.7

deb: build ## Debian package of the tools, man pages, completions: target/debian/golden_*.deb
	CARGO=$(CARGO) packaging/deb.sh

clean: ## remove build output
	$(CARGO) clean

# ---- the seed's targets: thin calls of the built tools -------------------

# NAME (or TEMPLATE), NEW (or INSTANCE), ALIAS, PROJECT: raw text, never expanded.
export G_NAME    = $(or $(value NAME),$(value TEMPLATE))
export G_NEW     = $(or $(value NEW),$(value INSTANCE))
export G_ALIAS   = $(value ALIAS)
export G_PROJECT = $(value PROJECT)

# The project option, when PROJECT is set (a shell fragment, quoted there).
P_OPT = $${G_PROJECT:+--project "$$G_PROJECT"}

need = $(if $(strip $(value $(1))$(value $(2))),,$(error usage: $(3)))

golden-create: ## make NAME a golden (stop, pristine): NAME=x [PROJECT=p]
	$(call need,NAME,TEMPLATE,make golden-create NAME=x [PROJECT=p])
	@$(CARGO) build -q --release --bins -p golden-create
	@$(BIN)/golden-create $(P_OPT) -- "$$G_NAME"

golden-derive: ## clone NAME/pristine as NEW (names split on spaces): NAME=x NEW=y [PROJECT=p]
	$(call need,NAME,TEMPLATE,make golden-derive NAME=x NEW=y [PROJECT=p])
	$(call need,NEW,INSTANCE,make golden-derive NAME=x NEW=y [PROJECT=p])
	@$(CARGO) build -q --release --bins -p golden-derive
	@set -f; $(BIN)/golden-derive $(P_OPT) -- "$$G_NAME" $$G_NEW

golden-publish: ## publish NAME/pristine as image ALIAS: NAME=x ALIAS=a [PROJECT=p]
	$(call need,NAME,TEMPLATE,make golden-publish NAME=x ALIAS=a [PROJECT=p])
	$(call need,ALIAS,ALIAS,make golden-publish NAME=x ALIAS=a [PROJECT=p])
	@$(CARGO) build -q --release --bins -p golden-publish
	@$(BIN)/golden-publish $(P_OPT) --alias "$$G_ALIAS" -- "$$G_NAME"

golden-refresh: ## rebuild clone NAME from its template's new pristine: NAME=clone [PROJECT=p]
	$(call need,NAME,INSTANCE,make golden-refresh NAME=clone [PROJECT=p])
	@$(CARGO) build -q --release --bins -p golden-refresh
	@$(BIN)/golden-refresh $(P_OPT) -- "$${G_NAME:-$$G_NEW}"

golden-list golden-ls: ## list goldens: [PROJECT=p]
	@$(CARGO) build -q --release --bins -p golden-ls
	@$(BIN)/golden-ls $(P_OPT)
