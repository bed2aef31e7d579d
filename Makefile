# Portico: `make run` and `make test` on a fresh Debian 12 machine.
#
#   make run     install what is missing, build, run the tour (scenarios/tour.json)
#   make test    install what is missing, build, run every test suite:
#                the unit and integration tests, the same under ASan+UBSan,
#                the dashboard in headless chromium, and a bounded run of
#                each fuzz target; ends with one line
#                "tests: N passed, N failed, N skipped"
#   make fuzz    FUZZ_SECONDS=600: fuzz each target for that long
#   make bench   bench/compare (nginx, haproxy, wrk installed when missing)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_RUNS  ?= 200000
FUZZ_SECONDS ?= 300
MESON_FLAGS ?=
ifdef CI
MESON_FLAGS += --werror
endif

# Debian packages: build tools, the libraries, and what the tests drive.
DEB_PACKAGES = meson ninja-build pkg-config gcc clang libclang-rt-14-dev python3 \
               libglib2.0-dev libsoup-3.0-dev libjson-glib-dev libssl-dev curl tmux

.PHONY: all deps build run test fuzz bench clean

all: build

# The dashboard's browser test (tests/browser): Debian's chromium, node and
# npm, then playwright-core from npm (it downloads no browser). By command,
# not by package: a node from elsewhere (nodesource) is fine as it is.
deps:
	@tools/install-deps $(DEB_PACKAGES)
	@[ -x /usr/bin/chromium ] || tools/install-deps chromium
	@command -v node >/dev/null && command -v npm >/dev/null || tools/install-deps nodejs npm
	@[ -d tests/browser/node_modules/playwright-core ] || \
	  npm ci --prefix tests/browser --prefer-offline --no-audit --no-fund --loglevel=error

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/src/portico run

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Dasan=true -Db_lundef=false $(MESON_FLAGS)

$(BUILD_FUZZ)/build.ninja:
	CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Dasan=true -Db_lundef=false -Dfuzz_runs=$(FUZZ_RUNS)

test: deps $(BUILD)/build.ninja $(BUILD_ASAN)/build.ninja $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(BUILD_ASAN)
	ninja -C $(BUILD_FUZZ)
	@status=0; \
	meson test -C $(BUILD) --no-rebuild --print-errorlogs || status=1; \
	meson test -C $(BUILD_ASAN) --no-rebuild --print-errorlogs --suite unit --suite integration --suite modules || status=1; \
	meson test -C $(BUILD_FUZZ) --no-rebuild --print-errorlogs --suite fuzz || status=1; \
	tools/test-summary $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) || status=1; \
	exit $$status

fuzz: deps $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	@for t in request response chunked; do \
	  echo "== fuzz-$$t for $(FUZZ_SECONDS) s"; \
	  mkdir -p $(BUILD_FUZZ)/fuzz-corpus-$$t; \
	  ./$(BUILD_FUZZ)/tests/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    $(BUILD_FUZZ)/fuzz-corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

bench: build
	bench/compare

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
