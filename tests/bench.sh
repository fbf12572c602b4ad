#!/usr/bin/env bash
# make bench: start (or reuse) the private Incus and run the benchmarks with the
# release build of the tools, then the same for the private 3-member cluster
# (placement: beside, naive spread, --spread, through an image). BENCH_FULL=1
# adds the larger sizes and rounds;
# BENCH_ONLY=native,overhead,derive,identity,refresh,cow,list picks parts of the
# standalone bench (refresh: golden-refresh of 20 stale Debian clones against
# delete + golden-derive + config by hand); BENCH_CLUSTER=0 skips the cluster,
# BENCH_CLUSTER=only runs it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# The bench finds the tools beside itself: both in target/release.
cargo build -q --release -p xtask
if [ "${BENCH_CLUSTER:-1}" != only ]; then
    tests/incus.sh start
    target/release/xtask bench
fi
if [ "${BENCH_CLUSTER:-1}" != 0 ]; then
    tests/cluster.sh start
    target/release/xtask bench-cluster
fi
