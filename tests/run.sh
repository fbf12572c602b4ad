#!/usr/bin/env bash
# make test: install what is missing, start the private Incus (unless one already
# runs), build, run the unit and end-to-end tests, stop the daemon if we started it.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/incus.sh install
started=
if ! tests/incus.sh status; then
    tests/incus.sh start
    started=1
fi
cleanup() { [ -n "$started" ] && tests/incus.sh stop; }
trap cleanup EXIT

# What every commit must pass first: formatting and lints.
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo build --workspace --all-targets
cargo test --workspace "$@"
