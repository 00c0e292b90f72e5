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
# Per row, the generator runs for WARMUP + DURATION seconds (bounded in time
# by `timeout` and in count by -n), and the DURATION window after the warm-up
# is measured:
#   offered pps    frames vm0 sent (tx_packets + tx_dropped)
#   forwarded pps  frames ext0 received (what the router put on qg0)
#   router ns/fwd  (Δ irq+softirq of all CPUs + Δ CPU time of the routelet
#                  process) / forwarded. The kernel forwards in softirq,
#                  routelet in its threads plus the softirq of its AF_PACKET
#                  sockets; both include the veth deliveries and the sink's
#                  receive, neither the generator's own process time. This is
#                  the figure to compare: other load on the machine barely
#                  touches it.
#   machine ns/fwd (Δ user+nice+system+irq+softirq of all CPUs, less the
#                  busy rate of an IDLE-second window just before with no
#                  traffic, less the generator's process time) / forwarded:
#                  the /proc/stat view; on a machine shared with other work
#                  it carries that work's noise (the idle window's busy % is
#                  printed so you can judge).
# The "generator only" row runs the generator with the router's qr0 down
# (veth drops at the handoff): the generator's own cost, for reference.
#
# Usage (as root): scripts/bench-netns.sh
#   DURATION=10 WARMUP=1 IDLE=3 FLOWS=64 RATE= (pps cap, trafgen -b; empty: full speed)
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
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        {
            pid = $1
            # Fields after the command name "(comm)", which may hold spaces.
            if (!match($0, /\) [A-Za-z] /)) next
            n = split(substr($0, RSTART + 2), f, " ")
            ppid[pid] = f[2]
            ticks[pid] = f[12] + f[13]
        }
        END {
            want[root] = 1
            do {
                grew = 0
                for (p in ppid) if (!(p in want) && (ppid[p] in want)) { want[p] = 1; grew = 1 }
            } while (grew)
            for (p in want) sum += ticks[p]
            print sum + 0
        }'
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

# measure NAME ROUTER_PID: run the generator, print one result line
#   name offered_pps forwarded_pps router_ns machine_ns gen_ns_per_sent idle_busy_pct
# and keep the raw deltas in RESULT_* for the caller.
measure() {
    local name=$1 rtpid=$2 s0 s1 s2 gen args
    lab_log "$name: ${IDLE}s idle, then ${WARMUP}s warm-up + ${DURATION}s measured"
    # Idle window: the machine's background busy rate, no traffic.
    s0=$(snapshot "" "")
    sleep "$IDLE"
    s1=$(snapshot "" "")
    local idle_line="$s0 $s1"

    args=(-o vm0 -i "$LAB_DIR/trafgen.cfg" -P 1 --no-sock-mem -Q
        -n $(((WARMUP + DURATION + 2) * MAX_PPS)))
    [[ -n $RATE ]] && args+=(-b "${RATE}pps")
    # Bounded in time (timeout) and in count (-n). `timeout` passes SIGINT
    # on to trafgen, which then prints its summary and exits.
    timeout -s INT $((WARMUP + DURATION + 2)) ip netns exec "$NS_VM" trafgen "${args[@]}" \
        >"$LAB_DIR/trafgen-$name.log" 2>&1 &
    gen=$!
    lab_track "$gen" trafgen
    sleep "$WARMUP"
    s1=$(snapshot "$gen" "$rtpid")
    sleep "$DURATION"
    s2=$(snapshot "$gen" "$rtpid")
    kill -INT "$gen" 2>/dev/null || true
    wait "$gen" || true
    sed -i "/^pid $gen /d" "$LAB_STATE"
    if ! grep -q 'packets outgoing' "$LAB_DIR/trafgen-$name.log"; then
        cat "$LAB_DIR/trafgen-$name.log" >&2
        lab_die "trafgen failed"
    fi

    # shellcheck disable=SC2086
    set -- $idle_line $s1 $s2
    awk -v name="$name" -v d="$DURATION" -v idle="$IDLE" -v hz="$CLK_TCK" -v gensirq="${GEN_SIRQ_NS:-0}" '
        {
            # idle: 8 + 8 fields, then window: 8 + 8 fields
            for (i = 1; i <= NF; i++) v[i] = $i
            tick = 1e9 / hz
            idle_busy = (v[9] - v[1]) * tick           # ns busy during the idle window
            idle_total = (v[11] - v[3]) * tick
            bg_rate = idle_busy / idle                  # ns busy per second, no traffic
            w = 16
            busy = (v[w + 9] - v[w + 1]) * tick
            sirq = (v[w + 10] - v[w + 2]) * tick
            sent = v[w + 12] - v[w + 4]
            arrived = v[w + 13] - v[w + 5]
            fwd = v[w + 14] - v[w + 6]
            gen = (v[w + 15] - v[w + 7]) * tick
            rt = (v[w + 16] - v[w + 8]) * tick
            router = sirq - gensirq * sent + rt
            machine = busy - bg_rate * d - gen
            printf "%s %.0f %.0f %.0f %s %s %.1f %.0f %.0f %.0f\n", name, sent / d, fwd / d, arrived / d,
                (fwd > 0 ? sprintf("%.0f", router / fwd) : "-"),
                (fwd > 0 ? (machine >= 0 ? sprintf("%.0f", machine / fwd) : "n/a") : "-"),
                (idle_total > 0 ? 100 * idle_busy / idle_total : 0),
                (sent > 0 ? gen / sent : 0), (sent > 0 ? sirq / sent : 0), sent
        }' <<<"$*"
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
    # Its softirq per sent frame (≈0) is taken out of the router rows.
    GEN_SIRQ_NS=$(awk '{ print $9 }' <<<"$line")

    lab_router_kernel
    lab_vm_up
    warm_up "the kernel router"
    results+=("$(measure kernel "")")

    local w
    if ((have_run)); then
        lab_router_unkernel
        lab_render_all
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
    local ncpu
    ncpu=$(nproc)
    echo
    echo "bench-netns: 64-byte IPv6 UDP frames ($FLOWS flows), vm0 -> router -> ext0,"
    echo "  ${DURATION}s measured per row after ${WARMUP}s warm-up, generator: trafgen -P 1 (TX ring),"
    echo "  ${RATE:+capped at ${RATE} pps}${RATE:-full speed}; $ncpu CPUs, kernel $(uname -r)."
    echo
    printf '%-15s %12s %14s %10s %14s %15s %9s\n' row "offered pps" "forwarded pps" "fwd %" "router ns/fwd" "machine ns/fwd" "idle busy"
    local name sent fwd router machine idlepct gen noisy=0
    for line in "$@"; do
        read -r name sent fwd _ router machine idlepct gen _ <<<"$line"
        if [[ $name == generator-only ]]; then
            printf '%-15s %12s %14s %10s %14s %15s %8s%%   generator: %s ns per frame sent\n' \
                "$name" "$sent" "(qr0 down)" - - - "$idlepct" "$gen"
        else
            printf '%-15s %12s %14s %10s %14s %15s %8s%%\n' "$name" "$sent" "$fwd" \
                "$(awk -v f="$fwd" -v s="$sent" 'BEGIN { printf "%.1f", (s > 0 ? 100 * f / s : 0) }')" \
                "$router" "$machine" "$idlepct"
        fi
        awk -v p="$idlepct" 'BEGIN { exit !(p > 10) }' && noisy=1
    done
    echo
    echo "router ns/fwd: CPU ns per forwarded frame, all CPUs: irq+softirq + the routelet process"
    echo "  (the kernel forwards in softirq); includes veth delivery and the sink's receive,"
    echo "  excludes the generator. machine ns/fwd: /proc/stat busy (user+nice+system+irq+softirq)"
    echo "  less the idle window's background rate and the generator's process time; noisy when"
    echo "  'idle busy' (the machine's busy % with no traffic, just before the row) is not ~0."
    if ((noisy)); then
        echo "  NOTE: other work kept this machine busy without traffic (idle busy > 10%):"
        echo "  machine ns/fwd is unreliable here; router ns/fwd is the figure to use."
    fi
    if ((have_run)); then
        local k
        k=$(printf '%s\n' "$@" | awk '$1 == "kernel"')
        echo
        echo "routelet / kernel ratios (pps: higher is better; ns/fwd: lower is better):"
        printf '%s\n' "$@" | awk -v k="$k" '
            BEGIN { split(k, K, " ") }
            $1 ~ /^routelet/ {
                r = (K[3] > 0) ? $3 / K[3] : 0
                a = ($5 ~ /^[0-9]/ && K[5] ~ /^[0-9]/ && K[5] > 0) ? sprintf("%.2f", $5 / K[5]) : "-"
                b = ($6 ~ /^[0-9]/ && K[6] ~ /^[0-9]/ && K[6] > 0) ? sprintf("%.2f", $6 / K[6]) : "-"
                printf "  %-12s forwarded pps x%.2f   router ns/fwd x%s   machine ns/fwd x%s\n", $1, r, a, b
            }'
    else
        echo
        echo "routelet rows skipped: this build has no 'routelet run' (the live dataplane, issue 4)."
        echo "They run, with the routelet/kernel ratios, as soon as it exists."
    fi
}

main "$@"
