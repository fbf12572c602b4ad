#!/usr/bin/env bash
# make test: install what is missing, start the private Incus (unless one already
# runs), build, run the unit and end-to-end tests, and stop the daemon when the
# last test run using it ends, if a test run started it. The script's status is
# the tests' status.
#
# Concurrent runs share the daemon. Two locks beside the daemon's state (never
# inside a directory that `incus.sh stop` removes):
#   $DIR.lock   exclusive, held only while starting or stopping the daemon;
#   $DIR.users  shared, held by every run for as long as it uses the daemon.
# A run that ends takes the first lock, and stops the daemon only if it then gets
# the second one exclusively (no other run still uses the daemon) and the daemon
# was started by a test run. Locks held by a killed run vanish with it.
#
# The 3-member cluster of the cluster suite (tests/cluster.sh) is handled the
# same way, with its own two locks ($CDIR.lock, $CDIR.users) and mark.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${GOLDEN_INCUS_DIR:-/tmp/golden-incus}
GATE=$DIR.lock
USERS=$DIR.users
# Written when a test run started the daemon; inside the state dir, so a stop
# (of any kind) removes it with the daemon.
MARK=$DIR.state/started-by-make-test
CDIR=${GOLDEN_CLUSTER_DIR:-/tmp/golden-cluster}
CMARK=$CDIR.state/started-by-make-test

cleanup() {
    local rc=$?
    trap - EXIT
    set +e
    flock -u 7
    flock -x 6
    if flock -x -n 7 && [ -e "$CMARK" ]; then
        tests/cluster.sh stop 6>&- 7>&- 8>&- 9>&- || echo "run.sh: stopping the private cluster failed" >&2
    fi
    flock -u 9
    flock -x 8
    if flock -x -n 9 && [ -e "$MARK" ]; then
        tests/incus.sh stop 6>&- 7>&- 8>&- 9>&- || echo "run.sh: stopping the private Incus failed" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

tests/incus.sh install
# The package test needs cargo-deb: its build takes minutes, which belong to the
# set-up, not to a test's time. Under incus.sh's install lock: two runs at once
# would build it twice.
flock /run/lock/golden-tests-install.lock packaging/deb.sh install

exec 8>"$GATE" 9>"$USERS"
flock -x 8
# The daemon must not inherit the lock descriptors (it would hold them forever).
if ! tests/incus.sh status 8>&- 9>&-; then
    tests/incus.sh start 6>&- 7>&- 8>&- 9>&-
    touch "$MARK"
fi
flock -s 9
flock -u 8

exec 6>"$CDIR.lock" 7>"$CDIR.users"
flock -x 6
# A cluster that another run uses is never rebuilt, even with a member down:
# that is one of its tests stopping a member on purpose (tests/cluster.rs).
if ! tests/cluster.sh status 6>&- 7>&- 8>&- 9>&- && flock -x -n 7; then
    tests/cluster.sh start 6>&- 7>&- 8>&- 9>&-
    touch "$CMARK"
fi
flock -s 7
flock -u 6

# Nothing started from here keeps the locks: only this shell holds them.
# What every commit must pass first: formatting and lints.
cargo fmt --all -- --check 6>&- 7>&- 8>&- 9>&-
cargo clippy --workspace --all-targets -q -- -D warnings 6>&- 7>&- 8>&- 9>&-
cargo build --workspace --all-targets 6>&- 7>&- 8>&- 9>&-
# Every test binary runs even when one fails: one failure never hides the rest.
cargo test --workspace --no-fail-fast "$@" 6>&- 7>&- 8>&- 9>&-
