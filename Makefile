# sluice: the two commands of the quick start are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug

.PHONY: build release demo test bench clean

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# Builds, starts sluice-mock on a free loopback port, runs jobs/demo.json over samples/, stops the mock.
demo: build
	@bash scripts/demo.sh $(BIN)

# Every test: unit tests and integration tests against a real sluice-mock process.
test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build results
