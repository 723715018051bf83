# The two commands a new user needs (see README.md):
#   make run   — install what is missing, build Release, start a single-node Quidditch
#   make test  — install what is missing, build, run every test suite
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR ?= build/release
ASAN_DIR ?= build/asan
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan run test test-unit test-asan test-k8s format clean bench-controlplane \
	bench-engine bench-http

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQUIDDITCH_SANITIZE=ON \
	  $(CMAKE_FLAGS)

build-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS) --target quidditch_unit_tests quidditch_engine_tests

# Starts one process with all roles; data in ./data, REST on localhost:9200. Builds only the
# server (not the tests, nor the Kubernetes tools they need).
run: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target quidditch
	$(BUILD_DIR)/quidditch $(ARGS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: build-asan
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L unit

# Every suite: release tests (unit, cli, cluster, api, k8s), the unit tests under ASan/UBSan,
# and the REST fuzz target for 60 seconds.
test: test-unit test-asan test-fuzz

# The Kubernetes-mode tests against a real kube-apiserver and etcd (built from Go modules by
# scripts/build-k8s-tools; without Go they report themselves skipped).
test-k8s: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure -L k8s

# Control-plane benchmark: Raft mode (1 and 3 masters on loopback) and Kubernetes mode (a real
# kube-apiserver + etcd on loopback); writes bench/results/controlplane{,_k8s}.json.
bench-controlplane: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target bench_controlplane bench_controlplane_k8s
	$(BUILD_DIR)/bench_controlplane bench/results/controlplane.json
	$(BUILD_DIR)/bench_controlplane_k8s bench/results/controlplane_k8s.json

# Engine benchmark against Lucene 9.12, Tantivy and Xapian on corpora prepared from Debian packages
# (bench/engine/README.md); writes bench/results/engine.json. QUICK=1: a small smoke run whose
# results stay in build/bench-engine.
bench-engine: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target bench_engine_quidditch
	python3 bench/engine/run.py $(if $(QUICK),--quick) \
	  --quidditch-bin $(BUILD_DIR)/bench_engine_quidditch

# REST benchmark (bench/http/README.md): one node through its REST API on the engine benchmark's
# Debian corpus, with wrk: _bulk docs/s, search per query category at 1 and 8 connections,
# GET-by-id; the engine harness gives the in-process latency of the same queries. Writes
# bench/results/http.json and the table in docs/performance.md. QUICK=1: a smoke run whose
# results stay in build/bench-http.
bench-http: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target quidditch bench_engine_quidditch
	python3 bench/http/run.py $(if $(QUICK),--quick) --bin $(BUILD_DIR)/quidditch

# libFuzzer (docs/fuzzing.md): fuzz_rest, built with clang 14 + ASan + UBSan in build/fuzz.
# `make fuzz FUZZ_SECONDS=N` fuzzes for N seconds (default 60) from the seed corpus
# fuzz/corpus/rest; findings land in build/fuzz/artifacts. `make test-fuzz`: the bounded
# 60-second run of `make test`. FUZZ_TARGET=fuzz_http fuzzes the HTTP layer alone (builds fast).
FUZZ_DIR ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGET ?= fuzz_rest
.PHONY: build-fuzz fuzz test-fuzz

$(FUZZ_DIR)/build.ninja:
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCMAKE_PROJECT_quidditch_INCLUDE=$(CURDIR)/fuzz/fuzz.cmake $(CMAKE_FLAGS)

build-fuzz: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(FUZZ_TARGET)

fuzz: build-fuzz
	fuzz/run.sh $(FUZZ_DIR)/$(FUZZ_TARGET) $(FUZZ_SECONDS)

test-fuzz: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_rest
	fuzz/run.sh $(FUZZ_DIR)/fuzz_rest 60

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf build
