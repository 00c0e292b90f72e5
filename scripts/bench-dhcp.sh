#!/usr/bin/env bash
# DHCPv6 benchmark in the netns lab: perfdhcp's 4-way exchanges (Solicit,
# Advertise, Request, Reply; a new client each time) per second against
# routelet and, in the same run on the same veth topology, against
# kea-dhcp6 (single-threaded, its default, and multi-threaded), each
# keeping its leases on disk under /var/tmp:
#
#   perfdhcp (rl-vm-ID, vm0) ── qr0 [router: routelet | kea-dhcp6]
#
# - routelet: its lease journal, one fdatasync per batch of replies
#   (group commit), a Reply only once its lease is on disk.
# - Kea: memfile with persist = true, lfc-interval 0: every lease is
#   appended to its CSV file (written, not fsync'd: Kea does not sync).
#
# Per server and offered rate (perfdhcp -r, DURATION seconds, -R 1000000
# distinct clients): the exchanges per second perfdhcp saw completed, its
# drop ratio, the server's CPU per completed exchange (utime+stime of the
# server process from /proc, so perfdhcp's own CPU, which is what limits
# the rate on a 2-core machine, is not counted) and perfdhcp's CPU share.
# Then the best rate of each server and the ratios.
#
# Usage (as root): scripts/bench-dhcp.sh
#   DURATION=5 RATES="2000 5000 10000 20000 40000" ROUTELET_BIN=PATH
set -euo pipefail

# shellcheck source=scripts/lib/lab.sh
source "$(dirname "$0")/lib/lab.sh"

DURATION=${DURATION:-5}
RATES=${RATES:-2000 5000 10000 20000 40000}
CLK_TCK=$(getconf CLK_TCK)
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 && $DURATION -le 60 ]] || lab_die "DURATION must be 1..60"
for r in $RATES; do
    [[ $r =~ ^[0-9]+$ && $r -le 200000 ]] || lab_die "RATES must be numbers up to 200000"
done

# ticks PID: utime+stime of PID (all threads), clock ticks.
ticks() {
    local f
    f=$(cat "/proc/$1/stat" 2>/dev/null) || {
        echo 0
        return
    }
    f=${f##*) }
    # shellcheck disable=SC2086
    set -- $f
    echo $((${12} + ${13}))
}

# run_perfdhcp SERVER_PID RATE: one measurement; prints
# "rate drops% server_us_per_exchange perfdhcp_cpu%".
run_perfdhcp() {
    local pid=$1 rate=$2 before after out got drops tb ta t0 t1 ptimes
    before=$(ticks "$pid")
    t0=$(date +%s%N)
    out=$( { TIMEFORMAT='%U %S'; time timeout $((DURATION + 15)) ip netns exec "$NS_VM" \
        perfdhcp -6 -l vm0 -r "$rate" -p "$DURATION" -R 1000000 2>&1; } 2>&1) || true
    t1=$(date +%s%N)
    after=$(ticks "$pid")
    got=$(grep -m 1 -oE 'Rate: [0-9.]+' <<<"$out" | awk '{print $2}')
    drops=$(grep -m 1 -oE 'drops ratio: [0-9.]+' <<<"$out" | awk '{print $3}')
    ptimes=$(tail -n 1 <<<"$out")
    awk -v got="${got:-0}" -v drops="${drops:-100}" -v dt=$((after - before)) -v tck="$CLK_TCK" \
        -v d="$DURATION" -v pt="$ptimes" -v wall=$((t1 - t0)) 'BEGIN {
            ex = got * d; split(pt, p, " ")
            us = ex > 0 ? dt / tck * 1e6 / ex : 0
            printf "%.0f %.1f %.1f %.0f\n", got, drops, us, (p[1] + p[2]) / (wall / 1e9) * 100
        }'
}

# bench SERVER_NAME PID: every rate; prints the table rows, records the best.
declare -A BEST BEST_US
bench() {
    local name=$1 pid=$2 r line
    for r in $RATES; do
        line=$(run_perfdhcp "$pid" "$r")
        read -r got drops us pcpu <<<"$line"
        printf '%-22s %9s %12s %8s%% %14s %10s%%\n' "$name" "$r" "$got" "$drops" "$us" "$pcpu"
        if ((got > ${BEST[$name]:-0})); then
            BEST[$name]=$got
            BEST_US[$name]=$us
        fi
    done
}

kea_config() {
    local dir=$1 mt=$2
    cat <<CONF
{ "Dhcp6": {
    "interfaces-config": { "interfaces": [ "qr0" ] },
    "data-directory": "$dir",
    "lease-database": { "type": "memfile", "persist": true, "name": "$dir/leases6.csv", "lfc-interval": 0 },
    "preferred-lifetime": 3600, "valid-lifetime": 7200,
    "multi-threading": { "enable-multi-threading": $mt, "thread-pool-size": 2, "packet-queue-size": 64 },
    "subnet6": [ { "subnet": "2001:db8:cafe::/64", "interface": "qr0",
        "pools": [ { "pool": "2001:db8:cafe::100 - 2001:db8:cafe::ff:ffff" } ] } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "WARN", "output_options": [ { "output": "$dir/kea.log" } ] } ]
} }
CONF
}

kernel_has_ll() { grep -q 'fe80::.* scope link' <<<"$(ip -n "$NS_RT" -6 addr show dev qr0)" && no_tentative "$NS_RT"; }

main() {
    lab_require_root
    "$LAB_REPO/scripts/install-deps.sh"
    command -v perfdhcp >/dev/null || lab_die "perfdhcp missing (Debian's kea-admin)"
    command -v kea-dhcp6 >/dev/null || lab_die "kea-dhcp6 missing (Debian's kea-dhcp6-server)"
    lab_build
    ROUTER=kernel
    lab_init ""
    lab_traps
    lab_create
    local disk=/var/tmp/routelet-bench-dhcp-$LAB_ID
    rm -rf "$disk" && mkdir -p "$disk"
    lab_state_add "dir $disk"
    lab_render "$LAB_REPO/testdata/lab/dhcp-bench.toml" "$LAB_DIR/dhcp-bench.toml"
    ip -n "$NS_VM" link set vm0 up
    wait_until "$LAB_STEP_TIMEOUT" "the VM's link-local address" no_tentative "$NS_VM" || true

    printf '%-22s %9s %12s %9s %14s %11s\n' server offered/s exchanges/s drops "server us/exch" perfdhcp-cpu
    # Kea, with the kernel's IPv6 on qr0 (it needs a link-local socket).
    local mt pid name
    for mt in false true; do
        name=kea-dhcp6
        [[ $mt == true ]] && name="kea-dhcp6 (2 threads)"
        rm -rf "$disk/kea" && mkdir -p "$disk/kea"
        kea_config "$disk/kea" "$mt" >"$disk/kea/kea.json"
        in_rt sysctl -qw net.ipv6.conf.qr0.disable_ipv6=0
        ip -n "$NS_RT" link set qr0 up
        ip -n "$NS_RT" addr replace 2001:db8:cafe::1/64 dev qr0 nodad
        wait_until "$LAB_STEP_TIMEOUT" "qr0's link-local address" kernel_has_ll || lab_die "qr0 has no usable link-local address"
        KEA_PIDFILE_DIR=$disk/kea KEA_LOCKFILE_DIR=$disk/kea ip netns exec "$NS_RT" \
            kea-dhcp6 -c "$disk/kea/kea.json" >"$disk/kea/out.log" 2>&1 &
        pid=$!
        lab_track "$pid" kea-dhcp6
        sleep 2
        bench "$name" "$pid"
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        sed -i "/^pid $pid /d" "$LAB_STATE"
        ip -n "$NS_RT" addr flush dev qr0 scope global
    done

    # routelet, its journal on the same disk: one worker per CPU (the
    # default), then one worker.
    in_rt sysctl -qw net.ipv6.conf.qr0.disable_ipv6=1
    local workers label
    for workers in "" 1; do
        label=routelet
        [[ -n $workers ]] && label="routelet (1 worker)"
        rm -rf "$disk/routelet"
        local args=(run --config "$LAB_DIR/dhcp-bench.toml" --state-dir "$disk/routelet")
        [[ -n $workers ]] && args+=(--workers "$workers")
        ip netns exec "$NS_RT" "$LAB_BIN" "${args[@]}" >>"$LAB_LOG" 2>&1 &
        LAB_ROUTELET_PID=$!
        lab_track "$LAB_ROUTELET_PID" routelet
        wait_until "$LAB_STEP_TIMEOUT" "routelet's control socket" lab_routelet_ready || lab_die "routelet did not start"
        bench "$label" "$LAB_ROUTELET_PID"
        ctl show stats | sed -n '/^dhcpv6-server$/,/drops/p' | grep -E 'journal_commits|leases|queue_full|replies_withheld' |
            tr -s ' ' | sed "s/^/  $label:/" >>"$disk/summary"
        lab_routelet_stop || true
    done
    echo
    cat "$disk/summary"
    echo
    local k=${BEST[kea-dhcp6]:-0} kmt=${BEST["kea-dhcp6 (2 threads)"]:-0} r=${BEST[routelet]:-0}
    if ((${BEST["routelet (1 worker)"]:-0} > r)); then
        r=${BEST["routelet (1 worker)"]}
        BEST_US[routelet]=${BEST_US["routelet (1 worker)"]}
    fi
    awk -v r="$r" -v k="$k" -v kmt="$kmt" -v ru="${BEST_US[routelet]:-0}" -v ku="${BEST_US[kea-dhcp6]:-0}" \
        -v kmu="${BEST_US["kea-dhcp6 (2 threads)"]:-0}" 'BEGIN {
        printf "best exchanges/s: routelet %d, kea-dhcp6 %d, kea-dhcp6 (2 threads) %d\n", r, k, kmt
        if (k > 0 && kmt > 0) printf "rate ratio: routelet / kea %.2fx, routelet / kea 2 threads %.2fx\n", r / k, r / kmt
        if (ru > 0) printf "server CPU per exchange at the best rate: routelet %.1f us, kea %.1f us (%.1fx), kea 2 threads %.1f us (%.1fx)\n", ru, ku, ku / ru, kmu, kmu / ru
    }'
    echo "(perfdhcp and the servers share 2 cores: where perfdhcp-cpu is near 100% it, not the server, sets the rate.)"
}

main "$@"
