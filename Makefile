# aeps: the partner server for Eko's AePS Gateway.
#
#   make run     install what is needed, build, and serve on the embedded default: environment local with the
#                gateway simulator on http://localhost:3004, SQLite in data/, HTTPS on https://localhost:8443 with a
#                self-signed certificate; a demo retailer and ops account are made on first run and printed
#   make test    install what is needed (Chromium and Playwright too) and run the whole test suite: the Swift
#                tests, then the end-to-end tests in a real browser (Tests/e2e); screenshots land in
#                .build/screenshots/
#   make e2e     only the end-to-end browser tests (after a debug build)
#   make build   release build only (.build/release/aeps)
#   make bench   the callback under load with wrk (bench/load.py: the real server on a fresh database and with
#                1,000,000 transactions stored, against a bare baseline route; prints the table of
#                docs/performance.md), then the in-process debit-hook decision latency and the ops console's pages
#                with 1,000,000 transactions (release build, loopback only, a few minutes, stops by itself)
#   make bench-doc   the load part only, writing its table into docs/performance.md
#   make bench-smoke the load part in a few seconds per run on the debug build (part of make test)
#   make deps    install the system packages (Debian; as root, or with sudo)
#   make clean   remove build output (never the database or certificates)

SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

# System packages: SQLite and OpenSSL headers for the build, curl and CA certificates for trying the server.
DEB_PACKAGES := libsqlite3-dev libssl-dev curl ca-certificates
# The tests also drive the retailer page in a real headless Chromium, with fonts for English and Hindi, and watch
# the real server's system calls with strace (each approval synced before its answer).
# The load benchmark's smoke run (bench/load.py --short) drives the server with wrk.
TEST_PACKAGES := chromium fonts-dejavu-core fonts-lohit-deva strace wrk
# The end-to-end tests drive Debian's Chromium with Playwright (from PyPI; it brings no browser of its own).
PLAYWRIGHT := playwright==1.65.2

# Eko's public UAT access key (protocol §2): used by `make run` only when EKO_ACCESS_KEY is not set.
UAT_ACCESS_KEY := d2fe1d99-6298-4af2-8cc5-d97dcf46df30

.PHONY: run test e2e bench bench-load bench-doc bench-store bench-smoke build deps test-deps install-packages clean

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(DEB_PACKAGES)"
	@command -v swift >/dev/null || { echo "swift is not installed (expected in /opt/swift/usr/bin)"; exit 1; }

test-deps: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(TEST_PACKAGES)"
	@python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("playwright") != "$(PLAYWRIGHT)".split("==")[1])' 2>/dev/null \
	  || { echo "installing $(PLAYWRIGHT)"; python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$(PLAYWRIGHT)"; }

install-packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	swift build -c release --product aeps

run: build
	@[ -f aeps.config ] || { cp aeps.config.example aeps.config; echo "made aeps.config from aeps.config.example"; }
	@[ -f dev-certs/localhost.pem ] || .build/release/aeps dev-cert
	@EKO_ACCESS_KEY="$${EKO_ACCESS_KEY:-$(UAT_ACCESS_KEY)}"; export EKO_ACCESS_KEY; \
	  if grep -q '"environment": *"local"' aeps.config; then .build/release/aeps demo; fi; \
	  exec .build/release/aeps serve

test: test-deps
	swift build --build-tests
	swift test
	python3 -m unittest discover -s Tests/e2e -v
	python3 bench/load.py --short

e2e: test-deps
	swift build --product aeps
	python3 -m unittest discover -s Tests/e2e -v

bench: bench-load bench-store

bench-load: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="wrk"
	swift build -c release --product aeps
	swift build -c release --product aeps-baseline
	python3 bench/load.py

bench-doc: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="wrk"
	swift build -c release --product aeps
	swift build -c release --product aeps-baseline
	python3 bench/load.py --write-doc docs/performance.md

bench-store: deps
	swift build -c release --product aeps-bench
	.build/release/aeps-bench 1000000

bench-smoke: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="wrk"
	swift build --product aeps
	swift build --product aeps-baseline
	python3 bench/load.py --short

clean:
	rm -rf .build
