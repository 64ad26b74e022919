# The two commands that matter: `make demo` and `make test`. Both install what they need.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SHARED_DATA ?= $(abspath ../shared/data)
FUZZ_SECONDS ?= 15

.PHONY: all deps configure build web test demo bench fuzz evaluate clean

all: build

deps:
	scripts/install-deps

configure:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DLIGHTCONE_SHARED_DATA_DIR=$(SHARED_DATA) $(CMAKE_FLAGS)

build: configure web
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The dashboard: npm packages from the lock file (only when missing or stale), then the bundle
# in web/dist that `lightcone server --web-root web/dist` serves.
web: web/node_modules/.package-lock.json
	cd web && npm run --silent build

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

# The fuzz smoke runs first so that ctest's summary is the last thing printed.
test: deps build
	scripts/fuzz-smoke $(FUZZ_SECONDS)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: deps build
	scripts/demo

bench: deps build
	scripts/run-benchmarks $(BUILD_DIR)

fuzz: deps
	scripts/fuzz-smoke 300

evaluate: build
	scripts/evaluate --write $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
