#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for a bounded time each, with cargo-fuzz on the
# stable toolchain, and prints executions, executions per second and crashes per target.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      default: 60 seconds each, every target
#
# Each target runs SECONDS of wall time after one shared build, one after another (so the whole
# run takes about 7 × SECONDS plus the build). New inputs go to fuzz/corpus-run/<target>/ (not
# committed); the committed seeds in fuzz/corpus/<target>/ are read, never written. A crash,
# timeout or out-of-memory input is written to fuzz/artifacts/<target>/ and makes the script exit
# 1 after the remaining targets ran. See fuzz/README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

SECONDS_EACH="${1:-60}"
shift || true
ALL_TARGETS=(ids filter query retry_after package bodies emulator)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [[ "$SECONDS_EACH" -lt 1 ]]; then
    echo "usage: fuzz/run.sh [SECONDS] [TARGET...]   (SECONDS a whole number, default 60)" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo-fuzz is not installed: cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --locked
fi

# `-s none`: no sanitizer, so no `-Zsanitizer` and no nightly: every flag cargo-fuzz passes is
# then a stable `-C` flag (SanitizerCoverage through `-Cpasses=sancov-module` and `-Cllvm-args`).
# The code under test forbids `unsafe`, so AddressSanitizer would mostly watch the C of
# dependencies (aws-lc) that it does not instrument anyway; panics, hangs and memory blow-ups are
# what these targets hunt, and libFuzzer catches those without it.
FUZZ_FLAGS=(-s none)

echo "== cargo fuzz build ${FUZZ_FLAGS[*]} (release, debug assertions on)"
cargo fuzz build "${FUZZ_FLAGS[@]}"

# libFuzzer options: -timeout per input (a hang), -rss_limit_mb for memory, and a summary.
LIBFUZZER_OPTS=(
    "-max_total_time=${SECONDS_EACH}"
    -timeout=10
    -rss_limit_mb=2048
    -print_final_stats=1
)

declare -a SUMMARY
failed=0
for target in "${TARGETS[@]}"; do
    mkdir -p "corpus-run/$target" "corpus/$target" "artifacts/$target"
    log="target/run-$target.log"
    mkdir -p target
    echo "== $target: ${SECONDS_EACH}s"
    set +e
    # The run stops itself after SECONDS; `timeout` is only a backstop.
    timeout --kill-after=30 "$((SECONDS_EACH + 300))" \
        cargo fuzz run "${FUZZ_FLAGS[@]}" "$target" "$PWD/corpus-run/$target" "$PWD/corpus/$target" -- \
        "${LIBFUZZER_OPTS[@]}" >"$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
    corpus=$(find "corpus-run/$target" -type f | wc -l)
    if [[ $status -eq 0 ]]; then
        result=ok
    else
        result="FAILED (exit $status)"
        failed=1
        echo "-- $target failed; the end of its log ($log):"
        tail -n 40 "$log"
        grep -h 'Test unit written to' "$log" || true
    fi
    SUMMARY+=("$(printf '%-12s %6ss %12s %10s %8s %8s  %s' "$target" "$SECONDS_EACH" \
        "${execs:-?}" "${per_sec:-?}" "${cov:-?}" "$corpus" "$result")")
done

echo
echo "== summary (fuzz/run.sh $SECONDS_EACH)"
printf '%-12s %7s %12s %10s %8s %8s  %s\n' target time executions 'execs/s' coverage corpus result
printf '%s\n' "${SUMMARY[@]}"
if [[ $failed -ne 0 ]]; then
    echo
    echo "Crashing inputs are in fuzz/artifacts/<target>/. Reproduce one with"
    echo "  cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>"
    echo "and minimize it with"
    echo "  cargo fuzz tmin -s none <target> fuzz/artifacts/<target>/<file>"
    exit 1
fi
