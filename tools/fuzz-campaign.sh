#!/usr/bin/env bash
# A fuzzing campaign: every target in proto/fuzz, one after another, each until
# it has run RUNS inputs or SECONDS have passed, whichever comes first; then
# the corpus it grew is minimized (libFuzzer's -merge=1, through `cargo fuzz
# cmin`) and left in proto/fuzz/corpus/TARGET, which is kept in the
# repository so the test command's short runs start from it.
#
#   tools/fuzz-campaign.sh [--runs N] [--seconds S] [TARGET ...]
#
# Defaults: --runs 10000000, --seconds 3600, every target (`cargo fuzz list`).
# Each target's libFuzzer output goes to target/fuzz-campaign/TARGET.log; a
# summary line per target (inputs run, seconds, executions per second,
# coverage, corpus files and bytes before and after minimizing) is printed and
# written to target/fuzz-campaign/summary.txt.
#
# Exit status: 0 when every target ran without a finding; 1 when one crashed,
# leaked, timed out or ran out of memory — its input is in
# proto/fuzz/artifacts/TARGET/ and the log is printed; the campaign stops there
# (a finding is fixed before the rest runs on).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=10000000
seconds=3600
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz-campaign: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
case "$runs$seconds" in
    *[!0-9]*) echo "fuzz-campaign: --runs and --seconds take whole numbers" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
cd proto
# cargo-fuzz passes -Z sanitizer flags; this lets the stable toolchain accept
# them for the fuzz build only.
export RUSTC_BOOTSTRAP=1
cargo fuzz build
known=$(cargo fuzz list)
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets <<<"$known"
fi
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$known"; then
        echo "fuzz-campaign: no target named $target; there are: $(echo $known)" >&2
        exit 2
    fi
done

out="$root/target/fuzz-campaign"
mkdir -p "$out"
summary="$out/summary.txt"
printf '%-10s %10s %6s %8s %6s %14s %14s\n' target runs secs exec/s cov \
    "corpus before" "corpus after" | tee "$summary"

size() { # files and bytes in a folder
    printf '%s/%s' "$(find "$1" -type f | wc -l)" \
        "$(find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
}

for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    log="$out/$target.log"
    start=$SECONDS
    echo "fuzz-campaign: $target (up to $runs inputs or ${seconds}s), log $log" >&2
    if ! cargo fuzz run "$target" "$corpus" "fuzz/seeds/$target" -- \
        -runs="$runs" -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz-campaign: $target found a failing input; see proto/fuzz/artifacts/$target/" >&2
        exit 1
    fi
    took=$((SECONDS - start))
    done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
    before=$(size "$corpus")
    cargo fuzz cmin "$target" "$corpus" >"$log.cmin" 2>&1 || {
        tail -n 30 "$log.cmin"
        echo "fuzz-campaign: minimizing $target's corpus failed" >&2
        exit 1
    }
    after=$(size "$corpus")
    printf '%-10s %10s %6s %8s %6s %14s %14s\n' "$target" "${done_runs:-?}" "$took" \
        "${speed:-?}" "${cov:-?}" "$before" "$after" | tee -a "$summary"
done
echo "fuzz-campaign: every target ran clean; the minimized corpus is in proto/fuzz/corpus/" >&2
