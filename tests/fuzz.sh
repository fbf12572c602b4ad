#!/usr/bin/env bash
# make fuzz: run each fuzz target for FUZZ_SECONDS (default 60) with cargo fuzz
# (libFuzzer). New inputs go to a scratch corpus; the seeds in
# tests/fuzz/corpus/ stay small. A crash leaves its input in tests/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo fuzz needs nightly flags: a nightly toolchain if there is one, else
# the stable one told to accept them.
if cargo +nightly --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
for t in ${FUZZ_TARGETS:-records name_template names}; do
    scratch=$(mktemp -d)
    log=$(mktemp)
    echo "fuzz: $t for ${secs}s"
    status=0
    "${fuzz[@]}" run --fuzz-dir tests/fuzz "$t" "$scratch" "tests/fuzz/corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 30 "$log"
        echo "fuzz: $t failed (its input is in tests/fuzz/artifacts/$t)"
        exit 1
    fi
    rm -rf "$scratch" "$log"
done
echo "fuzz: no crash"
