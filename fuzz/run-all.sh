#!/usr/bin/env bash
# Bounded runs of every fuzz target, one after the other, single process
# each (the build machine is shared), then a summary table.
#
# Usage: fuzz/run-all.sh TIME_PER_TARGET [TARGET...]
#   TIME_PER_TARGET  seconds per target (libFuzzer -max_total_time)
#   TARGET...        default: every target `cargo fuzz list` prints
#
# Environment: FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS=-max_len=2048).
# Logs go to fuzz/logs/<target>.log, crashes to fuzz/artifacts/<target>/.
# Exit status: 0 if no target crashed, 1 otherwise.
set -uo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 TIME_PER_TARGET [TARGET...]" >&2
    exit 2
fi
time_per_target="$1"
shift

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
mkdir -p logs

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build || exit 2

rows=()
failed=0
for t in "${targets[@]}"; do
    log="logs/$t.log"
    echo "== $t (${time_per_target}s)" >&2
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags.
    cargo +nightly fuzz run "$t" -- \
        -max_total_time="$time_per_target" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    if [[ $rc -eq 0 ]]; then
        result="no crash"
    else
        failed=1
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //')
        kind=$(grep -oE 'ERROR: libFuzzer: [a-z-]+|panicked at [^:]*:[0-9]+' "$log" | head -1)
        result="CRASH (${kind:-exit $rc}) ${artifact}"
    fi
    rows+=("| $t | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $result |")
done

echo
echo "| target | executions | exec/s | cov | ft | corpus | result |"
echo "|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
exit $failed
