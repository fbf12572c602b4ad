#!/usr/bin/env bash
# make bench: start (or reuse) the private Incus and run the benchmarks with the
# release build of the tools. BENCH_FULL=1 adds the larger sizes;
# BENCH_ONLY=identity runs the identity reset part alone.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/incus.sh start
# The bench finds the tools beside itself: both in target/release.
cargo build -q --release -p xtask
exec target/release/xtask bench
