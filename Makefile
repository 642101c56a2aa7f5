# murphy — the make facade over CMake + Ninja. `make help` lists the targets.
JOBS ?= $(shell nproc)
RELEASE := build/release
SANITIZE := build/asan
TSAN := build/tsan
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: help deps build test test-release test-sanitize test-fuzz sanitize-build tsan bench bench-system fuzz demo soak clean

help:
	@echo "make demo   build and run the main job (murphy demo)"
	@echo "make test   build, then run every test in release and in the ASan+UBSan build"
	@echo "make build  release build (assertions on)"
	@echo "make bench  micro-benchmarks (Google Benchmark)"
	@echo "make bench-system  murphyd vs etcd, 3 nodes each on loopback (SYSTEM_BENCH_ARGS=--quick)"
	@echo "make tsan   ThreadSanitizer build and its tests"
	@echo "make fuzz   libFuzzer (clang) on every decoder, FUZZ_SECONDS each (default 60);"
	@echo "            make test runs three of them for FUZZ_TEST_SECONDS (default 30)"
	@echo "make soak   SEEDS seeds (default 10000) of the kv simulation workload on all cores"

deps:
	@scripts/install-deps

$(RELEASE)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(RELEASE) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release

build: deps $(RELEASE)/build.ninja
	cmake --build $(RELEASE) -j $(JOBS)

test: test-release test-sanitize test-fuzz
	@echo "make test: all tests passed (g++ release, clang ASan+UBSan, libFuzzer $(FUZZ_TEST_SECONDS)s per decoder)"

test-release: build
	@scripts/install-deps browser
	cmake -S . -B $(RELEASE) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release
	ctest --test-dir $(RELEASE) --output-on-failure -j $(JOBS) --timeout 600

# The sanitizer build uses clang, so that CI compiles everything with both g++ and
# clang (-Werror in both). It also carries libFuzzer's coverage instrumentation
# (MURPHY_FUZZ), so the real fuzz binaries come out of the same compile instead of a
# third build of the tree.
sanitize-build: deps
	CXX=clang++ cmake -S . -B $(SANITIZE) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug \
	  -DMURPHY_SANITIZE=address,undefined -DMURPHY_FUZZ=ON -DMURPHY_BUILD_BENCH=OFF
	cmake --build $(SANITIZE) -j $(JOBS)

test-sanitize: sanitize-build
	ctest --test-dir $(SANITIZE) --output-on-failure -j $(JOBS) --timeout 900

tsan: deps
	cmake -S . -B $(TSAN) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug \
	  -DMURPHY_SANITIZE=thread -DMURPHY_BUILD_BENCH=OFF
	cmake --build $(TSAN) -j $(JOBS)
	ctest --test-dir $(TSAN) --output-on-failure -j $(JOBS) --timeout 900

bench: build
	@mkdir -p bench-results
	@for binary in $(RELEASE)/bench/*_bench; do \
	  echo "== $$binary"; \
	  $$binary --benchmark_min_time=0.2 --benchmark_out=bench-results/$$(basename $$binary).json \
	    --benchmark_out_format=json || exit 1; \
	done

# The whole-system benchmark: 3-member murphyd and etcd clusters on loopback, the same
# workloads against each; writes bench-results/system.json and system.svg (see
# docs/benchmarks.md). SYSTEM_BENCH_ARGS passes flags, e.g. --quick or --only writes.
SYSTEM_BENCH_ARGS ?=
bench-system: deps $(RELEASE)/build.ninja
	@scripts/install-deps etcd
	cmake --build $(RELEASE) -j $(JOBS) --target system_bench murphyd
	$(RELEASE)/bench/system_bench --output-dir bench-results $(SYSTEM_BENCH_ARGS)

# Many seeds of the replicated KV store under the random nemesis; a failure prints its
# seed and replay command.
SEEDS ?= 10000
soak: deps $(RELEASE)/build.ninja
	cmake --build $(RELEASE) -j $(JOBS) --target murphy
	$(RELEASE)/src/murphy/cli/murphy sim --seeds $(SEEDS) --workload kv --jobs $(JOBS)

# libFuzzer binaries (clang, ASan+UBSan, coverage on every library) from the sanitizer
# build; each target's smoke binary writes the seed inputs of its corpus.
FUZZ_TARGETS := frame_fuzz client_message_fuzz wal_fuzz http_fuzz http_api_fuzz clock_ping_fuzz
# The decoders `make test` fuzzes: the wire (frames), HTTP requests, the HTTP/JSON API, WAL recovery.
FUZZ_TEST_TARGETS := frame_fuzz http_fuzz http_api_fuzz wal_fuzz
FUZZ_TEST_SECONDS ?= 30
FUZZ_SECONDS ?= 60
test-fuzz: sanitize-build
	scripts/fuzz-run $(SANITIZE) $(FUZZ_TEST_SECONDS) $(FUZZ_TEST_TARGETS)

fuzz: sanitize-build
	scripts/fuzz-run $(SANITIZE) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: build
	$(RELEASE)/src/murphy/cli/murphy demo --html demo-report.html

clean:
	rm -rf build
