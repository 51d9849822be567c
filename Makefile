# Developer and CI entry points. CI runs `bash .ci/run`, which is `make test`; on a fresh
# machine `make test` installs what the tests need (redis-server, the interop venv, Debian's
# Chromium, the browser tests' and the FHIR validators' npm packages) itself.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.stamp
INTEROP_REQUIREMENTS := tests/interop/requirements.txt
# The browser tests (tests/api/browser.rs runs tests/browser/form.test.mjs) drive Debian's
# Chromium with npm's playwright-core; nothing ever downloads a browser of its own.
CHROMIUM := /usr/bin/chromium
BROWSER_DIR := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.stamp
# The FHIR validators (tests/api/fhir.rs runs tests/interop/fhir/validate.mjs): npm's
# `fhir` (R4 structure definitions) and `@lhncbc/ucum-lhc` (UCUM codes).
FHIR_DIR := tests/interop/fhir
FHIR_STAMP := $(FHIR_DIR)/node_modules/.stamp
# panva's `jose` (tests/api/receiver_keys.rs runs tests/interop/jose/decrypt.mjs), which
# decrypts what the relay encrypts to receiver-held keys.
JOSE_DIR := tests/interop/jose
JOSE_STAMP := $(JOSE_DIR)/node_modules/.stamp
# The Node receiver docs/receiving.md shows (npm `standardwebhooks` + `jose`), which
# tests/api/receivers.rs runs against real deliveries.
NODE_RECEIVER_DIR := docs/receivers/node
NODE_RECEIVER_STAMP := $(NODE_RECEIVER_DIR)/node_modules/.stamp

# The integration tests start their own redis-server (on free ports, never the machine's
# Redis) and check webhooks with the Python interop libraries; these tell them where to
# find both. REDIS_SERVER_BIN is looked up when the recipe runs, after `make redis`. The
# browser tests find Chromium and their node_modules through the last two.
TEST_ENV = GAPRELAY_TEST_PYTHON="$(abspath $(VENV_PYTHON))" REDIS_SERVER_BIN="$$(command -v redis-server)" \
	CHROMIUM_BIN="$(CHROMIUM)" GAPRELAY_BROWSER_DIR="$(abspath $(BROWSER_DIR))"

define section
@printf '\n==> %s\n' "$(1)"
endef

.PHONY: help run test lint fmt venv redis browser fhir-validators jose receivers bench fuzz clean

help:
	@echo "make run    run the relay on 127.0.0.1:8080 with the in-memory store and a demo practitioner"
	@echo "make test   what CI runs: fmt check, clippy, all tests (installs redis-server and the venv if missing)"
	@echo "make lint   cargo fmt --check and clippy -D warnings"
	@echo "make fmt    format the code"
	@echo "make venv   the Python venv with the webhook interop libraries ($(VENV))"
	@echo "make redis  install redis-server if it is not on PATH (starts no service)"
	@echo "make browser  install Debian's chromium if missing and the browser tests' npm packages"
	@echo "make fhir-validators  the npm packages that validate FHIR Bundles in the tests ($(FHIR_DIR))"
	@echo "make jose   npm's jose, which decrypts receiver-key JWEs in the tests ($(JOSE_DIR))"
	@echo "make receivers  the npm packages of the Node receiver in docs/receivers/node"
	@echo "make bench  criterion benchmarks, the intake and delivery runs against a hello-world baseline, and the form budgets (results: docs/performance.md)"
	@echo "make fuzz   run each cargo-fuzz target for FUZZ_SECONDS (default 60) s; not part of make test (docs/fuzzing.md)"
	@echo "make clean  cargo clean and remove $(VENV) and the tests' node_modules"

run:
	cargo run -- serve --demo

test: redis venv browser fhir-validators jose receivers
	$(call section,cargo fmt --check)
	cargo fmt --all -- --check
	$(call section,cargo clippy)
	cargo clippy --workspace --all-targets -- -D warnings
	$(call section,build tests and benches)
	$(TEST_ENV) cargo test --workspace --all-targets --no-run
	$(call section,run tests)
	$(TEST_ENV) cargo test --workspace --lib --bins --tests
	$(call section,doctests)
	$(TEST_ENV) cargo test --workspace --doc

lint:
	$(call section,cargo fmt --check)
	cargo fmt --all -- --check
	$(call section,cargo clippy)
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

venv: $(VENV_STAMP)

# The stamp makes the venv idempotent: pip runs again only when the requirements change.
$(VENV_STAMP): $(INTEROP_REQUIREMENTS)
	$(call section,Python venv for the interop tests)
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --disable-pip-version-check --no-input --quiet -r $(INTEROP_REQUIREMENTS)
	touch $@

redis:
	@if command -v redis-server >/dev/null 2>&1; then \
	  echo "redis-server: $$(command -v redis-server)"; \
	else \
	  printf '\n==> %s\n' "installing redis-server (Debian package; no service is started by us)"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	  else echo "redis-server is missing and installing it needs root or sudo" >&2; exit 1; fi; \
	  $$sudo apt-get update; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; \
	  command -v redis-server; \
	fi

# Without recommended packages Chromium brings no font; DejaVu gives every machine the
# same text, so the README's screenshots and the layout checks do not depend on the host.
browser: $(BROWSER_STAMP)
	@if [ -x "$(CHROMIUM)" ] && fc-list 2>/dev/null | grep -qi dejavu; then \
	  echo "chromium: $(CHROMIUM)"; \
	else \
	  printf '\n==> %s\n' "installing chromium and a font (Debian packages; the tests never download a browser)"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	  else echo "chromium is missing and installing it needs root or sudo" >&2; exit 1; fi; \
	  $$sudo apt-get update; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core; \
	  test -x "$(CHROMIUM)"; \
	fi

# Like the venv's: `npm ci` runs again only when the package files change. The lock file
# pins exact versions; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps playwright-core from
# fetching a browser build.
$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	$(call section,npm packages for the browser tests)
	cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

fhir-validators: $(FHIR_STAMP)

# Like the browser tests': `npm ci` runs again only when the package files change, and
# installs exactly what the lock file pins.
$(FHIR_STAMP): $(FHIR_DIR)/package.json $(FHIR_DIR)/package-lock.json
	$(call section,npm packages for the FHIR validators)
	cd $(FHIR_DIR) && npm ci --no-audit --no-fund
	touch $@

jose: $(JOSE_STAMP)

$(JOSE_STAMP): $(JOSE_DIR)/package.json $(JOSE_DIR)/package-lock.json
	$(call section,npm jose for the receiver-key interop tests)
	cd $(JOSE_DIR) && npm ci --no-audit --no-fund
	touch $@

receivers: $(NODE_RECEIVER_STAMP)

$(NODE_RECEIVER_STAMP): $(NODE_RECEIVER_DIR)/package.json $(NODE_RECEIVER_DIR)/package-lock.json
	$(call section,npm packages of the Node receiver)
	cd $(NODE_RECEIVER_DIR) && npm ci --no-audit --no-fund
	touch $@

bench:
	$(call section,criterion: CPU cost of the hot paths)
	cargo bench --bench intake
	$(call section,load: gaprelay next to an actix-web hello world in one run (benches/run.sh))
	bash benches/run.sh
	$(call section,form budgets: page weight and Lighthouse)
	cargo build --release
	node benches/form/budgets.mjs

# Fuzzing: see docs/fuzzing.md. Each target runs for FUZZ_SECONDS on a working copy of
# its seeds in fuzz/corpus/ (kept between runs, git-ignored); a crash fails the run and
# leaves its input in fuzz/artifacts/.
#
# cargo-fuzz passes rustc flags that only a nightly compiler accepts (-Zsanitizer and
# the sanitizer-coverage passes). This machine has only the stable toolchain and no
# nightly can be installed, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them. It
# applies to the fuzz build only (fuzz/target), never to the shipped binary; build
# scripts that probe for nightly features may turn them on there.
#
# The sanitizer defaults to none. AddressSanitizer also works on stable this way, but
# it made the targets about 3 to 6 times slower, and it finds only memory errors, which
# safe Rust cannot make: gaprelay forbids unsafe code, so it would check only the
# dependencies' unsafe code, and the fuzzed paths (JSON, validation, report, JWE,
# HMAC) run no C code. Pass FUZZ_SANITIZER=address for a slower, deeper run. -max_len lets inputs grow to the relay's 64 KiB body limit; -timeout makes an
# input that takes over 10 s a failure too.
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= none
FUZZ_TARGETS := intake webhook_payload
FUZZ_RUN = RUSTC_BOOTSTRAP=1 cargo fuzz

fuzz:
	@if ! cargo fuzz --version >/dev/null 2>&1; then \
	  printf '\n==> %s\n' "installing cargo-fuzz"; \
	  cargo install cargo-fuzz --locked; \
	fi
	$(call section,build the fuzz targets (sanitizer: $(FUZZ_SANITIZER)))
	cp Cargo.lock fuzz/Cargo.lock
	$(FUZZ_RUN) build --sanitizer $(FUZZ_SANITIZER)
	@for t in $(FUZZ_TARGETS); do \
	  printf '\n==> %s\n' "fuzz $$t for $(FUZZ_SECONDS) s"; \
	  mkdir -p fuzz/corpus/$$t; \
	  cp fuzz/seeds/$$t/* fuzz/corpus/$$t/; \
	  $(FUZZ_RUN) run --sanitizer $(FUZZ_SANITIZER) $$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -print_final_stats=1; \
	done

clean:
	cargo clean
	rm -rf $(VENV) fuzz/target $(BROWSER_DIR)/node_modules $(FHIR_DIR)/node_modules $(JOSE_DIR)/node_modules $(NODE_RECEIVER_DIR)/node_modules
