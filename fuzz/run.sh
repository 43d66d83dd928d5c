#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), in sequence; stops at the first crash.
#
# Only a stable toolchain is assumed: RUSTC_BOOTSTRAP=1 lets stable rustc take the nightly
# flags cargo-fuzz passes (-Cpasses=sancov-module, -Zsanitizer... ). The crate forbids unsafe
# code, so AddressSanitizer adds little; `--sanitizer none` is what is used here (verified
# working on stable 1.95). `--debug-assertions` turns on overflow checks, so arithmetic
# overflow on hostile input is reported as a crash too.
#
# Usage: fuzz/run.sh [SECONDS]
set -uo pipefail

SECONDS_PER_TARGET="${1:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/../target/fuzz}"
FLAGS=(--sanitizer none --debug-assertions)

TARGETS=(hdlc_frame wrapper apdu ciphered data iec_identification config_toml schedule obis change_response passive_decode)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> cargo-fuzz missing: installing it (a few minutes)"
    cargo install cargo-fuzz || { echo "FAILED: cargo install cargo-fuzz"; exit 2; }
fi

echo "==> building all targets"
cargo fuzz build "${FLAGS[@]}" || { echo "FAILED: cargo fuzz build"; exit 2; }

mkdir -p logs
declare -A EXECS
for t in "${TARGETS[@]}"; do
    log="logs/$t.log"
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "==> $t for ${SECONDS_PER_TARGET}s"
    cargo fuzz run "${FLAGS[@]}" "$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1
    status=$?
    # Final count: stat::number_of_executed_units, else the last "#N ... DONE" line.
    n=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
    [ -z "$n" ] && n=$(grep -E '^#[0-9]+' "$log" | grep DONE | tail -1 | grep -oE '^#[0-9]+' | tr -d '#')
    EXECS[$t]="${n:-?}"
    if [ "$status" -ne 0 ]; then
        echo
        echo "!!! CRASH in target '$t' (exit $status) after ${n:-?} executions"
        grep -E "panicked at|thread '.*' panicked|ERROR: libFuzzer|SUMMARY" "$log" | head -5
        grep -A1 -E "panicked at" "$log" | head -4
        grep -oE "Test unit written to [^ ]+" "$log" | head -1
        echo "full log: $HERE/$log"
        echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run ${FLAGS[*]} $t <artifact>"
        exit 1
    fi
    echo "    $t: ${EXECS[$t]} executions"
done

echo
echo "==> no crash; executions per target (${SECONDS_PER_TARGET}s each):"
for t in "${TARGETS[@]}"; do
    printf '    %-20s %s\n' "$t" "${EXECS[$t]}"
done
