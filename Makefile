# The two commands a new machine needs: `make run` and `make test`. Everything else is optional.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: all setup configure build run test bench fuzz format clean

all: build

setup:
	@scripts/setup

configure: setup
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts a local node on embedded defaults (data in ~/.thunder). Pass flags with ARGS="...".
run: build
	@$(BUILD_DIR)/apps/thunder/thunder run $(ARGS)

test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@bench/run $(BUILD_DIR)

# Builds every fuzz target with clang + libFuzzer + ASan/UBSan and runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 120
fuzz: setup
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTHUNDER_FUZZ=ON -DTHUNDER_WERROR=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target $$(cd tests/fuzz && ls *_fuzz.cc | sed 's/\(.*\)_fuzz.cc/fuzz_\1/')
	@for t in tests/fuzz/*_fuzz.cc; do n=$$(basename $$t _fuzz.cc); mkdir -p build-fuzz/corpus/$$n; \
	  echo "fuzzing $$n for $(FUZZ_SECONDS) s"; \
	  build-fuzz/tests/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build-fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR)
