#!/usr/bin/env bash
# Resident memory of idle routelet routers: one router, then N side by side,
# each in its own network namespace with two interfaces (veth pairs whose
# peers stay in the same namespace) and WORKERS workers.
#
#   sudo scripts/footprint-netns.sh [N=50] [WORKERS=2]
#
# Prints the RSS (VmRSS from /proc/PID/status) of each idle router after it
# settles, the mean, and the total. Everything it creates is removed on exit;
# processes are stopped by the PIDs it started.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-50}
workers=${2:-2}
settle=${SETTLE:-3}
bin=${ROUTELET_BIN:-target/release/routelet}
[[ $(id -u) -eq 0 ]] || { echo "footprint: run as root" >&2; exit 1; }
[[ -x $bin ]] || cargo build --release --quiet
id=$$
dir=$(mktemp -d /tmp/routelet-footprint.XXXXXX)
pids=()
namespaces=()

cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

start_router() {
    local i=$1 ns="rl-fp-$id-$1"
    ip netns add "$ns"
    namespaces+=("$ns")
    ip -n "$ns" link add qr0 type veth peer name qr0p
    ip -n "$ns" link add qg0 type veth peer name qg0p
    for l in qr0 qr0p qg0 qg0p; do ip -n "$ns" link set "$l" up; done
    sed -e "s|^name = \"lab\"|name = \"fp$i\"|" \
        -e "s|^control_socket = .*|control_socket = \"$dir/fp$i.sock\"|" \
        -e "s|^state_dir = .*|state_dir = \"$dir/state$i\"|" \
        testdata/lab/slaac.toml >"$dir/fp$i.toml"
    ip netns exec "$ns" "$bin" run --config "$dir/fp$i.toml" --workers "$workers" \
        2>"$dir/fp$i.log" &
    pids+=("$!")
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

start_router 0
sleep "$settle"
one=$(rss_kib "${pids[0]}")
echo "one idle router (2 interfaces, $workers workers): ${one} KiB RSS"

for i in $(seq 1 $((count - 1))); do start_router "$i"; done
sleep "$settle"
total=0
alive=0
for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
        r=$(rss_kib "$pid"); total=$((total + r)); alive=$((alive + 1))
    fi
done
echo "$alive of $count idle routers running side by side: total ${total} KiB RSS, mean $((total / (alive > 0 ? alive : 1))) KiB"
if ((alive < count)); then
    echo "some routers exited; first log lines:" >&2
    head -n 5 "$dir"/fp*.log >&2 || true
    exit 1
fi
