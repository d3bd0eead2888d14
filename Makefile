# Venue Desk — the two commands of the README are `make run` and `make test`. Every target installs
# what it needs first (Debian packages when root, npm packages, cargo tools) and is idempotent.

SHELL := /bin/bash
.DEFAULT_GOAL := help

TAURI_DRIVER_VERSION := 2.1.0
# Under no display (CI, a server), tests and benchmarks run on a virtual 1366×768 screen.
XVFB := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1366x768x24")
# One feature set for the whole workspace, so the app, its tests and the benches share one build.
CARGO_ALL := cargo build --workspace --all-targets

.PHONY: help setup deps-system deps-npm deps-tools ui bindings build run run-headless test test-ui test-rust bench clean release-bins package package-appimage test-deb test-appimage

help:
	@echo "make run           open Venue Desk with the built-in demo venue (embedded SQLite)"
	@echo "make run-headless  the same on a virtual display (no screen needed)"
	@echo "make test          install what is needed, then run every test (UI, Rust, end-to-end)"
	@echo "make bench         print the performance figures (docs/performance.md)"
	@echo "make bindings      regenerate ui/src/bindings.ts from the Rust commands"
	@echo "make package       build the Linux .deb (release build in PACKAGE_TARGET_DIR); installer/README.md"
	@echo "make test-deb      install that .deb on a throw-away Debian 12 root and start it under Xvfb"
	@echo "make package-appimage  build the AppImage (our own runtime; installer/README.md)"
	@echo "make test-appimage run that AppImage on a Debian 12 root without GTK, WebKit or GStreamer"

deps-system:
	@bash installer/bootstrap-debian.sh

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20.19 or newer (Debian: apt-get install nodejs npm from a current source)"; exit 1; }
	@# `npm install` against the committed lock, not `npm ci`: this machine's npm omits optional
	@# platform packages from the lock file (omit-lockfile-registry-resolved), which `npm ci`
	@# then reports as missing. With the lock present, `npm install` installs exactly its versions.
	cd ui && npm install --no-audit --no-fund
	@touch $@

deps-npm: ui/node_modules/.installed

deps-tools:
	@command -v tauri-driver >/dev/null || [ -x "$$HOME/.cargo/bin/tauri-driver" ] || cargo install tauri-driver --version $(TAURI_DRIVER_VERSION) --locked

setup: deps-system deps-npm deps-tools

ui: deps-npm
	cd ui && npm run build

build: deps-system ui
	$(CARGO_ALL)

run: build
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open here."; \
	  echo "Run 'make run-headless' to start Venue Desk on a virtual display (Xvfb) instead,"; \
	  echo "or run 'make run' from a desktop session."; exit 2; fi
	bash assets/demo/run-demo.sh ./target/debug/venue-desk

run-headless: build
	@echo "Starting Venue Desk on a virtual display; screenshot in test-artifacts/run-headless.png after 8 s. Ctrl-C stops it."
	@mkdir -p test-artifacts
	xvfb-run -a -s "-screen 0 1366x768x24" bash assets/demo/run-demo.sh bash -c './target/debug/venue-desk & pid=$$!; sleep 8; \
	  (command -v import >/dev/null && import -window root test-artifacts/run-headless.png) || true; wait $$pid'

bindings:
	UPDATE_BINDINGS=1 cargo test -p venue-desk --lib commands::tests::committed_bindings_are_current

test-ui: deps-npm
	@mkdir -p target
	set -o pipefail; cd ui && npm test 2>&1 | tee ../target/test-ui.log

test-rust: deps-system deps-tools ui
	$(CARGO_ALL)
	@bash tests/keyring-quota.sh
	@# A hung test must fail the run, not hold it until CI's hard limit: the whole cargo test gets
	@# 40 minutes (it takes about 6 here), then its process group is ended and the hung test named.
	@# The tests' secrets go to a session keyring of their own, which ends with the run
	@# (src-tauri/src/vault.rs): none are left behind, and a desktop's login keyring is not touched.
	set -o pipefail; $(XVFB) timeout -k 30 40m keyctl session - env VENUE_DESK_KEYRING=kernel-session \
	  cargo test --workspace --lib --bins --tests 2>&1 | tee target/test-rust.log \
	  || { rc=$$?; [ $$rc -ne 124 ] || echo "cargo test ran past 40 minutes; the hung test is the last one 'running for over 60 seconds' above."; exit $$rc; }

# One closing line for the whole run, counted from both runners' own summaries.
test: test-ui test-rust
	@awk '{ gsub(/\033\[[0-9;]*m/, "") } /test result:|^ *Tests +[0-9]/ { for (i = 2; i <= NF; i++) { \
	    if ($$i ~ /^passed/) p += $$(i-1); if ($$i ~ /^failed/) f += $$(i-1); \
	    if ($$i ~ /^(ignored|skipped)/) s += $$(i-1) } } \
	  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' target/test-ui.log target/test-rust.log

bench: deps-system ui
	cargo build --release --workspace --bins
	$(XVFB) ./target/release/bench

# Packages (installer/README.md). The release build has its own target directory, so a package
# build never waits on (or invalidates) the debug build that `make run` and `make test` share.
PACKAGE_TARGET_DIR ?= $(abspath $(CURDIR)/../target-package)
TAURI := $(CURDIR)/installer/node_modules/.bin/tauri

installer/node_modules/.installed: installer/package.json installer/package-lock.json
	cd installer && npm install --no-audit --no-fund
	@touch $@

VERSION := $(shell sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' src-tauri/tauri.conf.json | head -1)

release-bins: deps-system ui
	CARGO_TARGET_DIR=$(PACKAGE_TARGET_DIR) cargo build --release --locked -p venue-desk --bins

package: release-bins installer/node_modules/.installed
	@mkdir -p installer/build && cp $(PACKAGE_TARGET_DIR)/release/venue-sim installer/build/venue-sim
	cd src-tauri && CARGO_TARGET_DIR=$(PACKAGE_TARGET_DIR) $(TAURI) bundle --bundles deb
	@# Tauri names the file after the product ("Venue Desk_…"); apt and scripts want no space.
	@mkdir -p $(PACKAGE_TARGET_DIR)/packages && for f in $(PACKAGE_TARGET_DIR)/release/bundle/deb/*.deb; do \
	  b=$$(basename "$$f"); cp "$$f" "$(PACKAGE_TARGET_DIR)/packages/venue-desk_$${b#*_}"; done
	@ls -l $(PACKAGE_TARGET_DIR)/packages/

# The AppImage, with our own type-2 runtime and AppDir assembly (docs/appimage-runtime.md): Tauri's
# AppImage bundler downloads linuxdeploy and the runtime from GitHub, which is out of reach here.
APPIMAGE := $(PACKAGE_TARGET_DIR)/packages/venue-desk_$(VERSION)_x86_64.AppImage
package-appimage: release-bins
	$(MAKE) -C installer/appimage runtime
	bash installer/appimage/build-appdir.sh $(PACKAGE_TARGET_DIR)/release $(PACKAGE_TARGET_DIR)/appimage/AppDir
	@mkdir -p $(PACKAGE_TARGET_DIR)/packages
	bash installer/appimage/make-appimage.sh installer/appimage/build/runtime $(PACKAGE_TARGET_DIR)/appimage/AppDir $(APPIMAGE)
	@ls -l $(APPIMAGE)

test-appimage: package-appimage
	bash installer/appimage/test-appimage-in-chroot.sh $(APPIMAGE)

test-deb: package
	bash installer/test-deb-in-chroot.sh $$(ls -t $(PACKAGE_TARGET_DIR)/packages/venue-desk_*.deb | head -1)

clean:
	rm -rf target ui/dist ui/node_modules test-artifacts installer/node_modules installer/build
