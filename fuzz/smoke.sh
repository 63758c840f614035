#!/usr/bin/env bash
# CI smoke of the fuzz targets: builds every target with libFuzzer's instrumentation on the stable
# toolchain, runs each on its committed seeds and then fuzzes it for a few seconds, and fails on
# any crash, hang (10 s per input) or memory blow-up. About 2–3 minutes on 2 cores from a cold
# build; it prints every command it runs.
#
#   fuzz/smoke.sh [SECONDS_PER_TARGET]      default 5
#
# It does not need cargo-fuzz: it runs the `cargo build` that `cargo fuzz build -s none --dev`
# runs (the same SanitizerCoverage flags, all stable `-C` flags; no sanitizer, so no nightly), to
# spare CI the minute `cargo install cargo-fuzz` takes. `--dev` (no optimization) builds in about
# a third of the time of cargo-fuzz's default optimized, single-codegen-unit build; the targets
# run slower, which a smoke does not mind. For real fuzzing use fuzz/run.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
FUZZ_DIR="$PWD"
SECONDS_EACH="${1:-5}"
TARGETS=(ids filter query retry_after package bodies emulator)
started=$(date +%s)

run() {
    echo "+ $*"
    "$@"
}

host=$(rustc -vV | sed -n 's/^host: //p')
# cargo-fuzz 0.13's instrumentation flags (see `cargo fuzz build -v`), less `-Ccodegen-units=1`,
# which only matters to optimized builds.
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
-Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions"
# No debug info: faster to build and link; panics still print their message and location.
export CARGO_PROFILE_DEV_DEBUG=0
echo "== build (RUSTFLAGS=\"$RUSTFLAGS\" CARGO_PROFILE_DEV_DEBUG=0)"
# `--target` keeps RUSTFLAGS off build scripts and proc macros, as cargo-fuzz does.
run cargo build --locked --manifest-path "$FUZZ_DIR/Cargo.toml" --target-dir "$FUZZ_DIR/target" --target "$host" --bins
built=$(date +%s)
bin_dir="$FUZZ_DIR/target/$host/debug"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
declare -a SUMMARY
for target in "${TARGETS[@]}"; do
    mkdir -p "$work/$target" "$FUZZ_DIR/artifacts/$target"
    log="$work/$target.log"
    echo "== $target: the seeds of fuzz/corpus/$target, then ${SECONDS_EACH}s of fuzzing"
    set +e
    cmd=(timeout --kill-after=10 "$((SECONDS_EACH + 120))" "$bin_dir/$target"
        "$work/$target" "$FUZZ_DIR/corpus/$target"
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$FUZZ_DIR/artifacts/$target/" -print_final_stats=1)
    echo "+ ${cmd[*]}"
    "${cmd[@]}" >"$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    seeds=$(find "$FUZZ_DIR/corpus/$target" -type f | wc -l)
    if [[ $status -eq 0 ]]; then
        SUMMARY+=("$(printf '%-12s %6s seeds %10s executions  ok' "$target" "$seeds" "${execs:-?}")")
    else
        SUMMARY+=("$(printf '%-12s %6s seeds %10s executions  FAILED (exit %s)' "$target" "$seeds" "${execs:-?}" "$status")")
        failed+=("$target")
        echo "-- $target failed (exit $status); the end of its log:"
        tail -n 60 "$log"
    fi
done

finished=$(date +%s)
echo
echo "== fuzz smoke: build $((built - started))s, runs $((finished - built))s, total $((finished - started))s"
printf '%s\n' "${SUMMARY[@]}"
passed=$((${#TARGETS[@]} - ${#failed[@]}))
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "failed: ${failed[*]} (crashing inputs in fuzz/artifacts/<target>/; see fuzz/README.md)"
    echo "fuzz-smoke: $passed passed, ${#failed[@]} failed"
    exit 1
fi
echo "fuzz-smoke: $passed passed, 0 failed"
