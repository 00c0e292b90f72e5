#!/usr/bin/env bash
# Forwarding benchmark in the netns lab: routelet (--workers 1 and 2) against
# the Linux kernel forwarding the same traffic in the same topology.
#
#   trafgen (rl-vm-ID, vm0) ── qr0 [router: rl-rt-ID] qg0 ── ext0 (rl-ext-ID, sink)
#
# Traffic: 64-byte frames (Ethernet 14 + IPv6 40 + UDP 8 + 2 bytes payload,
# no FCS), 2001:db8:cafe::4 → 2001:db8:dead::1, UDP to port 9 from FLOWS
# source ports (so PACKET_FANOUT can spread them over workers), correct UDP
# checksums, destination MAC the router's qr0. The sink host has a blackhole
# route for 2001:db8:dead::/48: it drops the frames silently after its own
# IPv6 input, without ICMP back.
#
# Per row: IDLE seconds without traffic, the generator for WARMUP + DURATION
# seconds (bounded in time by `timeout`, in count by -n) of which the last
# DURATION are measured, IDLE seconds without traffic again. Columns:
#   offered pps     frames vm0 sent (tx_packets + tx_dropped)
#   forwarded pps   frames the router put on qg0 (= ext0's rx)
#   CPU ns/fwd      the figure asked for, from /proc/stat: Δ busy
#                   (user+nice+system+irq+softirq) of all CPUs during the
#                   window, less the idle windows' busy rate (other work on
#                   the machine), less the generator's cost (the
#                   "generator-only" row's CPU per frame sent × frames sent),
#                   divided by forwarded frames. Includes both veth hops and
#                   the sink's receive. Only as good as the machine is quiet:
#                   "idle busy" prints the idle windows' busy %.
#   softirq+proc    (Δ irq+softirq of all CPUs, less the idle windows' rate,
#     ns/fwd        + Δ CPU time of the routelet process) / forwarded: barely
#                   touched by other CPU work (not by other network traffic,
#                   which shares the softirq). Exact for the kernel, which forwards
#                   in softirq. For routelet an upper bound: with tick-based
#                   accounting a softirq that runs inside routelet's own system
#                   calls is counted in both terms.
# The "generator-only" row runs the generator with the router's qr0 down
# (veth drops at the handoff): the generator's own cost per frame.
#
# Usage (as root): scripts/bench-netns.sh
#   DURATION=10 WARMUP=1 IDLE=3 FLOWS=64
#   RATE=     packets per second (trafgen -b, its slower sendto path); empty: full speed
#   ROUTELET_BIN=PATH (a routelet binary to use instead of building one)
# The routelet rows need `routelet run`; without it they are skipped with a note.
set -euo pipefail

# shellcheck source=scripts/lib/lab.sh
source "$(dirname "$0")/lib/lab.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
IDLE=${IDLE:-3}
FLOWS=${FLOWS:-64}
RATE=${RATE:-}
MAX_PPS=5000000 # count bound: more than veth can take from one sender
SINK6=2001:db8:dead::1
CLK_TCK=$(getconf CLK_TCK)

for v in DURATION WARMUP IDLE FLOWS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || lab_die "$v must be a positive integer"
done
[[ -z $RATE || $RATE =~ ^[0-9]+$ ]] || lab_die "RATE must be a number of packets per second"
((FLOWS <= 4096)) || lab_die "FLOWS must be at most 4096"

# ------------------------------------------------------------ counters --

# tree_ticks PID: utime+stime (clock ticks) of PID and all its descendants.
tree_ticks() {
    [[ -n $1 ]] || {
        echo 0
        return
    }
    local p sum=0 f
    for p in "$1" $(descendants "$1"); do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) }
        # shellcheck disable=SC2086
        set -- $f
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}

# snapshot GEN_PID ROUTER_PID: one line of numbers for the measurement window:
#   busy irqsoftirq total sent arrived forwarded gen_ticks router_ticks
# arrived/forwarded are qr0 rx and qg0 tx, read by one process in the router
# namespace (a veth's tx is its peer's rx: qg0 tx_packets = ext0 rx_packets).
snapshot() {
    local gen=$1 rt=$2 cpu vm
    cpu=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat)
    vm=$(ip netns exec "$NS_VM" cat /sys/class/net/vm0/statistics/tx_packets /sys/class/net/vm0/statistics/tx_dropped |
        awk '{ s += $1 } END { print s }')
    echo "$cpu" "$vm" \
        "$(ip netns exec "$NS_RT" cat /sys/class/net/qr0/statistics/rx_packets /sys/class/net/qg0/statistics/tx_packets | paste -sd " ")" \
        "$(tree_ticks "$gen")" "$(tree_ticks "$rt")"
}

# warm_up WHAT: the VM reaches the external host through the router (and
# the router has resolved its next hop) before the flood starts.
warm_up() {
    wait_until 15 "a ping through $1" \
        timeout 3 ip netns exec "$NS_VM" ping -6 -n -q -c 1 -W 1 "$EXT6" || {
        lab_diag >&2
        lab_die "no ping through $1 from the VM to $EXT6"
    }
}

# --------------------------------------------------------------- traffic --

write_trafgen_cfg() {
    local f=$1 i
    : >"$f"
    for ((i = 0; i < FLOWS; i++)); do
        printf '{ eth(da=%s, sa=%s), ipv6(sa=%s, da=%s, hl=64), udp(sp=%d, dp=9), 0x00, 0x00 }\n' \
            "$MAC_QR0" "$MAC_VM0" "$VM6_STATIC" "$SINK6" $((20000 + i)) >>"$f"
    done
}

# measure NAME ROUTER_PID: idle, generator, idle; prints one result line
#   name offered_pps forwarded_pps cpu_ns_per_fwd sirq_ns_per_fwd idle_busy_pct
#   cpu_ns_per_sent sent
# GEN_NS (the generator-only row's cpu_ns_per_sent) is subtracted from the
# CPU figure of the later rows.
measure() {
    local name=$1 rtpid=$2 i0 i1 s1 s2 j0 j1 gen args
    lab_log "$name: ${IDLE}s idle, ${WARMUP}s warm-up + ${DURATION}s measured, ${IDLE}s idle"
    i0=$(snapshot "" "")
    sleep "$IDLE"
    i1=$(snapshot "" "")

    args=(-o vm0 -i "$LAB_DIR/trafgen.cfg" -P 1 --no-sock-mem -Q
        -n $(((WARMUP + DURATION + 2) * MAX_PPS)))
    [[ -n $RATE ]] && args+=(-b "${RATE}pps")
    # Bounded in time (timeout) and in count (-n). `timeout` signals
    # trafgen's process group with SIGINT, and SIGKILL 3 s later if a worker
    # is still there (its rate-limited loop ignores SIGINT).
    timeout -k 3 -s INT $((WARMUP + DURATION + 2)) ip netns exec "$NS_VM" trafgen "${args[@]}" \
        >"$LAB_DIR/trafgen-$name.log" 2>&1 &
    gen=$!
    lab_track "$gen" trafgen
    sleep "$WARMUP"
    s1=$(snapshot "$gen" "$rtpid")
    if [[ -n ${PERF_DIR:-} ]]; then
        # Profiling run (its figures are perturbed): a system-wide sampled
        # profile per row, `perf report -i PERF_DIR/NAME.data`.
        perf record -a -g -e cpu-clock -F 499 -o "$PERF_DIR/$name.data" -- sleep "$DURATION" >/dev/null 2>&1
    else
        sleep "$DURATION"
    fi
    s2=$(snapshot "$gen" "$rtpid")
    kill -INT "$gen" 2>/dev/null || true
    wait "$gen" || true
    sed -i "/^pid $gen /d" "$LAB_STATE"
    if (($(awk '{ print $12 - $4 }' <<<"$s1 $s2") <= 0)); then
        tail -n 20 "$LAB_DIR/trafgen-$name.log" >&2
        lab_die "trafgen sent nothing"
    fi

    j0=$(snapshot "" "$rtpid")
    sleep "$IDLE"
    j1=$(snapshot "" "$rtpid")

    # Snapshot fields: 1 busy 2 irq+softirq 3 total 4 sent 5 arrived
    # 6 forwarded 7 generator ticks 8 router ticks.
    awk -v name="$name" -v d="$DURATION" -v idle="$IDLE" -v hz="$CLK_TCK" -v genns="${GEN_NS:-0}" '
        function f(snap, k) { return v[snap * 8 + k] }
        {
            for (i = 1; i <= NF; i++) v[i] = $i
            # snapshots: 0 i0, 1 i1, 2 s1, 3 s2, 4 j0, 5 j1; v[snap*8+k]
            tick = 1e9 / hz
            idle_busy = (f(1, 1) - f(0, 1) + f(5, 1) - f(4, 1)) * tick
            idle_sirq = (f(1, 2) - f(0, 2) + f(5, 2) - f(4, 2)) * tick
            idle_total = (f(1, 3) - f(0, 3) + f(5, 3) - f(4, 3)) * tick
            busy = (f(3, 1) - f(2, 1)) * tick
            sirq = (f(3, 2) - f(2, 2)) * tick
            sent = f(3, 4) - f(2, 4)
            fwd = f(3, 6) - f(2, 6)
            rt = (f(3, 8) - f(2, 8)) * tick
            traffic = busy - idle_busy / (2 * idle) * d   # all CPU the traffic caused
            cpu = traffic - genns * sent                  # less the generator
            softirq = sirq - idle_sirq / (2 * idle) * d + rt
            printf "%s %.0f %.0f %s %s %.1f %.0f %d\n", name, sent / d, fwd / d,
                (fwd > 0 && cpu >= 0 ? sprintf("%.0f", cpu / fwd) : (fwd > 0 ? "n/a" : "-")),
                (fwd > 0 ? sprintf("%.0f", softirq / fwd) : "-"),
                (idle_total > 0 ? 100 * idle_busy / idle_total : 0),
                (sent > 0 ? traffic / sent : 0), sent
        }' <<<"$i0 $i1 $s1 $s2 $j0 $j1"
}

# --------------------------------------------------------------- main --

main() {
    lab_require_root
    "$LAB_REPO/scripts/install-deps.sh"
    lab_build
    local have_run=0
    lab_has_run && have_run=1

    ROUTER=kernel # the topology starts with the kernel as the router
    lab_init ""
    lab_traps
    lab_create
    write_trafgen_cfg "$LAB_DIR/trafgen.cfg"
    ip -n "$NS_EXT" -6 route add blackhole 2001:db8:dead::/48

    local results=() line
    # Generator only: qr0 still down, vm0 up; veth drops at the handoff.
    ip -n "$NS_VM" link set vm0 up
    line=$(measure generator-only "")
    results+=("$line")
    GEN_NS=$(awk '{ print $7 }' <<<"$line")

    lab_router_kernel
    lab_vm_up
    warm_up "the kernel router"
    results+=("$(measure kernel "")")

    local w
    if ((have_run)); then
        lab_router_unkernel
        lab_render_all
        if [[ -n ${IO:-} ]]; then
            # e.g. IO='tx = "ring"': extra [router.io] settings for routelet.
            printf '\n[router.io]\n%s\n' "$IO" >>"$LAB_DIR/slaac.toml"
        fi
        for w in 1 2; do
            lab_routelet_start "$w"
            warm_up "routelet --workers $w"
            results+=("$(measure "routelet-w$w" "$LAB_ROUTELET_PID")")
            lab_routelet_stop || lab_log "routelet --workers $w did not exit 0 on SIGTERM"
        done
    fi

    report "$have_run" "${results[@]}"
}

report() {
    local have_run=$1
    shift
    local gen_mode="trafgen -P 1, TX ring, full speed"
    [[ -n $RATE ]] && gen_mode="trafgen -P 1, sendto, capped at $RATE pps"
    echo
    echo "bench-netns: 64-byte IPv6 UDP frames, $FLOWS flows, vm0 -> router -> ext0 (sink)"
    echo "  ${DURATION}s measured per row after ${WARMUP}s warm-up; generator: $gen_mode"
    echo "  $(nproc) CPUs, kernel $(uname -r), CPU time from /proc/stat (USER_HZ $CLK_TCK)"
    echo
    printf '%-15s %12s %14s %7s %11s %14s %10s\n' row "offered pps" "forwarded pps" "fwd %" "CPU ns/fwd" "softirq+proc" "idle busy"
    local name sent fwd cpu sirq idlepct per noisy=0
    for line in "$@"; do
        read -r name sent fwd cpu sirq idlepct per _ <<<"$line"
        if [[ $name == generator-only ]]; then
            printf '%-15s %12s %14s %7s %11s %14s %9s%%   (generator: %s CPU ns per frame sent)\n' \
                "$name" "$sent" "(qr0 down)" - - - "$idlepct" "$per"
        else
            printf '%-15s %12s %14s %7s %11s %14s %9s%%\n' "$name" "$sent" "$fwd" \
                "$(awk -v f="$fwd" -v s="$sent" 'BEGIN { printf "%.1f", (s > 0 ? 100 * f / s : 0) }')" \
                "$cpu" "$sirq" "$idlepct"
        fi
        awk -v p="$idlepct" 'BEGIN { exit !(p > 10) }' && noisy=1
    done
    echo
    echo "CPU ns/fwd: /proc/stat busy (user+nice+system+irq+softirq) of all CPUs while the traffic ran,"
    echo "  less the idle windows' busy rate and the generator's own cost, per forwarded frame;"
    echo "  includes both veth hops and the sink's receive."
    echo "softirq+proc: irq+softirq (less the idle windows') + the routelet process, per forwarded frame;"
    echo "  exact for the kernel router, an upper bound for routelet (a softirq run inside its own"
    echo "  system calls counts twice); little affected by other CPU work (builds), but other network"
    echo "  traffic on the machine (other namespaces) lands in softirq too."
    if ((noisy)); then
        echo "NOTE: this machine was busy with other work (idle busy > 10%): CPU ns/fwd carries that"
        echo "  noise; compare softirq+proc, and rerun on a quiet machine for CPU ns/fwd."
    fi
    echo
    if ((have_run)); then
        local k
        k=$(printf '%s\n' "$@" | awk '$1 == "kernel"')
        echo "routelet / kernel (forwarded pps: higher is better; ns/fwd: lower is better):"
        printf '%s\n' "$@" | awk -v k="$k" '
            function ratio(a, b) { return (a ~ /^-?[0-9]/ && b ~ /^[0-9]/ && b > 0) ? sprintf("%.2f", a / b) : "-" }
            BEGIN { split(k, K, " ") }
            $1 ~ /^routelet/ {
                printf "  %-12s forwarded pps x%s   CPU ns/fwd x%s   softirq+proc ns/fwd x%s\n",
                    $1, ratio($3, K[3]), ratio($4, K[4]), ratio($5, K[5])
            }'
    else
        echo "routelet rows skipped: this build has no 'routelet run' (the live dataplane, issue 4)."
        echo "They run, with the routelet/kernel ratios, as soon as it exists."
    fi
}

main "$@"
