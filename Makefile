# sluice: the two commands of the quick start are `make demo` and `make test`; `make install` is a third, optional one.
SWIFT ?= swift
# The build folder (`swift build --scratch-path`); another one keeps a second build of the same checkout apart.
SCRATCH ?= .build
BIN := $(SCRATCH)/debug
RELEASE := $(SCRATCH)/release

# The commit `sluice --version` names (Package.swift reads it from the environment). Every build here
# passes the same value, so `make build` and `make test` share one build; a new commit recompiles one C
# file and relinks sluice. Set it on the command line to build outside a git checkout.
ifeq ($(origin SLUICE_COMMIT),undefined)
SLUICE_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null)
endif
export SLUICE_COMMIT

# `make install`: where to, and DESTDIR for staging a package (`make install DESTDIR=/tmp/pkg PREFIX=/usr`).
PREFIX ?= /usr/local
ROOT := $(DESTDIR)$(PREFIX)
BASH_COMPLETION := $(ROOT)/share/bash-completion/completions/sluice
ZSH_COMPLETION := $(ROOT)/share/zsh/site-functions/_sluice
FISH_COMPLETION := $(ROOT)/share/fish/vendor_completions.d/sluice.fish
MANUAL := $(ROOT)/share/man/man1/sluice.1
# Everything `make install` writes, and so everything `make uninstall` removes.
INSTALLED := $(ROOT)/bin/sluice $(ROOT)/bin/sluice-mock $(BASH_COMPLETION) $(ZSH_COMPLETION) $(FISH_COMPLETION) $(MANUAL)
# Where swift-argument-parser's GenerateManual plugin writes the manual page (its work folder, one per target).
GENERATED_MANUAL := $(SCRATCH)/plugins/GenerateManual/outputs/sluice/sluice.1
STAGE := $(SCRATCH)/install

.PHONY: build release demo test lint format torture bench bench-baseline settings-table docs install uninstall clean prerequisites test-prerequisites

# The system packages of scripts/system-packages.txt (installed when missing, as root), one list for every target.
prerequisites:
	@bash scripts/prerequisites.sh build $(SCRATCH)

# The same, plus what only the tests need (a proxy, Chromium, PostgreSQL, the JSON Schema test suite).
test-prerequisites:
	@bash scripts/prerequisites.sh test $(SCRATCH)

build: prerequisites
	$(SWIFT) build --scratch-path $(SCRATCH)

release:
	$(SWIFT) build --scratch-path $(SCRATCH) -c release

# Builds, starts sluice-mock on a free loopback port, runs jobs/demo.json over samples/, stops the mock.
demo: build
	@bash scripts/demo.sh $(BIN)

# Every test: the style check, the DocC catalogue's links, unit tests, and integration tests against a real sluice-mock process.
# One suite at a time: the integration suites measure what a gateway saw over time, and on two
# loaded cores they would otherwise share them with the 20,000-item torture test (about 2 minutes).
test: test-prerequisites lint docs
	$(SWIFT) build --scratch-path $(SCRATCH) --build-tests
	$(SWIFT) test --scratch-path $(SCRATCH) --skip-build --no-parallel

# The Sluice library's documentation (DocC: the API and the articles on how sluice works), checked for
# broken links and written to $(SCRATCH)/docs/Sluice.doccarchive.
docs:
	mkdir -p $(SCRATCH)/docs
	$(SWIFT) package --scratch-path $(SCRATCH) --allow-writing-to-directory $(SCRATCH)/docs \
		generate-documentation --target Sluice --warnings-as-errors --output-path $(SCRATCH)/docs/Sluice.doccarchive

# Rewrites docs/jobs-and-inputs.md's table of job-file keys from the rows of JobConfiguration.settings
# (after adding or changing a setting; SettingsTests fails while the table is stale).
settings-table:
	$(SWIFT) build --scratch-path $(SCRATCH) --build-tests
	SLUICE_WRITE_SETTINGS_TABLE=1 $(SWIFT) test --scratch-path $(SCRATCH) --skip-build --filter SettingsTests.theDocsTableIsTheOneTheRowsWrite

# The style of .swift-format (line length 160), checked; `make format` applies it.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Package.swift

# The commit whose CPU and memory per item `make bench` holds this build to, and the folder of its release
# build (kept, so it is built once: about 10 minutes on 2 cores; later runs of `make bench` reuse it).
BASELINE_COMMIT ?= e487827
BASELINE_SCRATCH ?= .build-baseline

# Benchmarks (release build): prints one table of measured figures. BENCH_FLAGS=--quick for a smoke run.
# The baseline is built first (once), so the CPU and memory ratios are always measured in the same run.
bench: bench-baseline
	$(SWIFT) build --scratch-path $(SCRATCH) -c release
	$(RELEASE)/sluice-bench --baseline-bin $(BASELINE_SCRATCH)/release $(BENCH_FLAGS)

# The release sluice of BASELINE_COMMIT, built from a temporary `git worktree` (this checkout is untouched).
bench-baseline:
	SWIFT=$(SWIFT) bash scripts/bench-baseline.sh $(BASELINE_COMMIT) $(BASELINE_SCRATCH)

# The crash torture test at a larger scale: 100,000 items, 30 SIGKILLs (plus SIGTERM/SIGINT stops).
torture:
	$(SWIFT) build --scratch-path $(SCRATCH) --build-tests
	SLUICE_TORTURE_ITEMS=$${SLUICE_TORTURE_ITEMS:-100000} SLUICE_TORTURE_KILLS=$${SLUICE_TORTURE_KILLS:-30} \
		$(SWIFT) test --scratch-path $(SCRATCH) --skip-build --filter CrashTortureTests

# Release binaries, shell completions and the manual page. Completions and manual come from the built
# binary itself, so they always describe the options it really has. Everything is made before anything
# is copied: a failed step installs nothing.
install:
	$(SWIFT) build --scratch-path $(SCRATCH) -c release --product sluice
	$(SWIFT) build --scratch-path $(SCRATCH) -c release --product sluice-mock
	rm -f $(GENERATED_MANUAL)
	$(SWIFT) package --scratch-path $(SCRATCH) plugin generate-manual
	rm -rf $(STAGE) && mkdir -p $(STAGE)
	$(RELEASE)/sluice --generate-completion-script bash > $(STAGE)/sluice.bash
	$(RELEASE)/sluice --generate-completion-script zsh > $(STAGE)/_sluice
	$(RELEASE)/sluice --generate-completion-script fish > $(STAGE)/sluice.fish
	cp $(GENERATED_MANUAL) $(STAGE)/sluice.1
	install -d $(ROOT)/bin $(dir $(BASH_COMPLETION)) $(dir $(ZSH_COMPLETION)) $(dir $(FISH_COMPLETION)) $(dir $(MANUAL))
	install -m 755 $(RELEASE)/sluice $(RELEASE)/sluice-mock $(ROOT)/bin
	install -m 644 $(STAGE)/sluice.bash $(BASH_COMPLETION)
	install -m 644 $(STAGE)/_sluice $(ZSH_COMPLETION)
	install -m 644 $(STAGE)/sluice.fish $(FISH_COMPLETION)
	install -m 644 $(STAGE)/sluice.1 $(MANUAL)

# Removes exactly the files `make install` wrote (same PREFIX and DESTDIR); shared folders stay.
uninstall:
	rm -f $(INSTALLED)

clean:
	rm -rf $(SCRATCH) results
