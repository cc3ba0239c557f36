# One entry point for building, testing and demonstrating the project. Each target delegates to a
# script or tool owned by the part it belongs to; see README.md.
SHELL := /bin/bash
CARGO ?= cargo
# Static binaries: the analyzer runs inside arbitrary containers (any libc, or none). Which target each one
# is built for: the analyzer is exec'd once per container, and musl starts in a fraction of glibc's static
# start-up (no CPUID probing, which traps to the hypervisor in a VM; docs/benchmarks.md); the coordinator
# starts once and stays on glibc. hack/install-deps installs the rustup targets named here.
TARGET_scan-containers := x86_64-unknown-linux-gnu
TARGET_analyzer := x86_64-unknown-linux-musl
STATIC_RUSTFLAGS := -C target-feature=+crt-static
# The analyzer searches executables with Teddy (aho-corasick's SIMD search for many strings at once), which it
# gets only from the target's features: runtime detection would run CPUID, a VM trap each, at every start. SSSE3 is
# part of x86-64-v2, which RHEL 9 and its CoreOS already require (docs/fingerprints.md, "Searching executables").
RUSTFLAGS_analyzer := -C target-feature=+ssse3
SCANNER_BINS := scan-containers analyzer
RUST_TARGETS := $(sort $(foreach b,$(SCANNER_BINS),$(TARGET_$(b))))
# The controller's code, its tests and npm run on the Node.js the controller image ships: Debian's nodejs,
# made runnable on this machine by hack/node-runtime (docs/adr/0007-libraries-and-what-stays-hand-written.md).
ON_NODE_RUNTIME := hack/node-runtime exec

.PHONY: all rust-targets deps build images lint lint-shell lint-controller test test-scanner lint-scanner test-controller test-e2e test-system demo demo-scanner bench bench-controller fuzz fuzz-smoke clean node_modules

all: build

# The Rust targets `make build` needs, one a line (hack/install-deps installs them).
rust-targets:
	@printf '%s\n' $(RUST_TARGETS)

build: $(addprefix bin/,$(SCANNER_BINS))

bin/%: FORCE
	cd scanner && RUSTFLAGS="$(STATIC_RUSTFLAGS) $(RUSTFLAGS_$*)" $(CARGO) build --release --locked --target $(TARGET_$*) --bin $*
	@mkdir -p bin && install -m 0555 scanner/target/$(TARGET_$*)/release/$* $@

FORCE:

# The scanner and controller images, built with buildah as OCI archives in dist/images/ (root; see hack/images).
images: deps build node_modules
	hack/images

# System packages (containerd, runc, busybox-static, ...): idempotent, quick once installed.
deps:
	hack/install-deps

# npm ci only when package.json, its lock or the Node.js runtime changed since the last install: a stamp inside
# node_modules/ (deleting the folder reinstalls), so `make bench` or `make test-e2e` twice installs once.
node_modules: node_modules/.installed
node_modules/.installed: package.json package-lock.json hack/node-runtime | deps
	$(ON_NODE_RUNTIME) npm ci --no-audit --no-fund
	@touch $@

# Every linter: Rust (fmt, clippy -D warnings), TypeScript (tsc, ESLint, Prettier), shell (ShellCheck).
lint: lint-scanner lint-controller lint-shell

lint-controller: node_modules
	$(ON_NODE_RUNTIME) npm run lint

lint-shell: deps
	hack/lint-shell

lint-scanner:
	cd scanner && $(CARGO) fmt --all --check
	cd scanner && $(CARGO) clippy --locked --all-targets -- -D warnings
	cd scanner && $(CARGO) clippy --locked --target $(TARGET_analyzer) -p analyzer -p sandbox --all-targets -- -D warnings
	cd scanner/fuzz && $(CARGO) fmt --all --check

# REQUIRE_ARTIFACTS=1: no test may skip for a missing artifact or for lack of root (a plain `cargo test` skips
# them with a notice); hack/check-test-skips then shows that plain run passing as nobody without artifacts.
test-scanner: lint-scanner
	hack/fetch-test-artifacts
	cd scanner && REQUIRE_ARTIFACTS=1 GOCACHE="$$(../hack/check-test-skips --gocache)" $(CARGO) test --locked
	hack/check-test-skips

# Coverage-guided fuzzing of every parser of container bytes (libFuzzer via cargo-fuzz, stable toolchain):
# each target for FUZZ_SECONDS; crashes, timeouts and out-of-memory fail it. See docs/security.md#fuzzing.
FUZZ_SECONDS ?= 600
fuzz: bin/analyzer
	hack/fetch-test-artifacts
	hack/fuzz/run $(FUZZ_SECONDS)

# The short run CI does: the fuzz crate linted, then every target for a few seconds on its seeds and corpus
# (the seeds come from the test artifacts, already fetched when `make test` gets here).
FUZZ_SMOKE_SECONDS ?= 5
fuzz-smoke: bin/analyzer
	cd scanner/fuzz && $(CARGO) clippy --locked --all-targets -- -D warnings
	hack/fetch-test-artifacts
	hack/fuzz/run $(FUZZ_SMOKE_SECONDS)

# hack/test-integration runs its TypeScript suite on hack/node-runtime too.
test-controller: node_modules
	$(ON_NODE_RUNTIME) npm run lint
	$(ON_NODE_RUNTIME) npm run test:unit
	hack/test-integration

# Needs root: starts a private containerd and real pods, then scans them. `make test-e2e RUNTIMES=node,python` runs
# only the runtimes suite, with only those images (test/e2e/images/rt-<name>, see docs/e2e-runtimes.md). It runs on
# the machine's Node.js: it tests the node scanner (rt-node packs that very node into an image), not the controller.
test-e2e: deps build node_modules
	hack/test-e2e

# The whole system (root): control plane + kubelet + the scanner DaemonSet, a ContainerScan to a published result.
test-system: deps build node_modules images
	hack/k8s/demo-cluster

test: deps lint-shell test-scanner fuzz-smoke test-controller test-e2e test-system

# The main job on an embedded default: a local cluster (built from upstream Go modules on first use, then
# cached), sample workloads, and a ContainerScan that ends with the published hashed result.
demo: deps build node_modules images
	hack/k8s/demo-cluster

# The node scanner alone: a private containerd with sample pods, scanned, the tree printed (seconds).
demo-scanner: deps build
	hack/demo

# The scanner on real containers (root); results in docs/benchmarks.md.
bench: deps build node_modules
	hack/bench-scan

# The controller on simulated clusters (kwok on the local control plane), BENCH_NODES nodes each; results in
# docs/benchmarks.md. No root needed.
BENCH_NODES ?= 500
bench-controller: node_modules
	hack/bench-controller $(BENCH_NODES)

clean:
	rm -rf bin dist scanner/target
