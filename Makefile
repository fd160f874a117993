# sluice: the two commands of the quick start are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug

.PHONY: build release demo test lint format torture bench clean

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# Builds, starts sluice-mock on a free loopback port, runs jobs/demo.json over samples/, stops the mock.
demo: build
	@bash scripts/demo.sh $(BIN)

# Every test: the style check, unit tests, and integration tests against a real sluice-mock process.
# One suite at a time: the integration suites measure what a gateway saw over time, and on two
# loaded cores they would otherwise share them with the 20,000-item torture test (about 2 minutes).
test: lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel

# The style of .swift-format (line length 160), checked; `make format` applies it.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Package.swift

# Benchmarks (release build): prints one table of measured figures. BENCH_FLAGS=--quick for a smoke run.
bench:
	$(SWIFT) build -c release
	.build/release/sluice-bench $(BENCH_FLAGS)

# The crash torture test at a larger scale: 100,000 items, 30 SIGKILLs (plus SIGTERM/SIGINT stops).
torture:
	$(SWIFT) build --build-tests
	SLUICE_TORTURE_ITEMS=$${SLUICE_TORTURE_ITEMS:-100000} SLUICE_TORTURE_KILLS=$${SLUICE_TORTURE_KILLS:-30} \
		$(SWIFT) test --skip-build --filter CrashTortureTests

clean:
	rm -rf .build results
