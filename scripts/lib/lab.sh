# shellcheck shell=bash disable=SC2034  # (constants used by the scripts that source this)
# Shared helpers of scripts/netns-lab.sh and scripts/bench-netns.sh: the
# three-namespace lab (tenant VM ↔ router ↔ external host), with the router
# either `routelet run` (ROUTER=routelet, the default) or the Linux kernel
# forwarding (ROUTER=kernel, the baseline).
#
# Contract:
# - Every name a run creates carries its run id (namespaces rl-vm-<id>,
#   rl-rt-<id>, rl-ext-<id>); the veth pairs are created inside the
#   namespaces, so nothing of a run is ever visible in, or collides with, the
#   host namespace or another run.
# - What a run created is written to its state file
#   (/run/routelet-lab/<id>/state) as it is created: namespaces, and every
#   process it started as "pid <PID> <start time> <name>". lab_cleanup (and
#   `netns-lab.sh down` for a run left behind) removes exactly that, and stops
#   a process only if its PID still has the recorded start time, so a
#   recycled PID is never signalled. No pkill, no killall.
# - Address plan (DESIGN.md "Lab address plan"): IPv6 in 2001:db8::/32,
#   IPv4 in 198.51.100.0/24 (tenant) and 203.0.113.0/24 (external) only.
#
# Callers: `set -euo pipefail`, source this file, call lab_init, and install
# `trap lab_cleanup EXIT` before lab_create.

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_STATE_ROOT=/run/routelet-lab
# ROUTELET_BIN: a routelet binary to use as is (no build); default the
# worktree's release build, rebuilt when older than the sources.
LAB_BIN=${ROUTELET_BIN:-$LAB_REPO/target/release/routelet}

# Fixed MACs, as in the talk's captures.
MAC_QR0=fa:16:3e:11:11:01
MAC_QG0=fa:16:3e:11:11:02
MAC_VM0=fa:16:3e:79:5a:cc
MAC_EXT0=fa:16:3e:e0:e0:01

# Addresses (lab plan).
GW6=2001:db8:cafe::1            # the router on the tenant link (config / kernel)
GW4=198.51.100.1
GW6_LL=fe80::f816:3eff:fe11:1101  # qr0's link-local (EUI-64 of MAC_QR0)
VM6_SLAAC=2001:db8:cafe:0:f816:3eff:fe79:5acc  # EUI-64 of MAC_VM0 in the SLAAC /64
VM6_STATIC=2001:db8:cafe::4     # kernel-router mode and the bench generator
VM4=198.51.100.4
RT_EXT6=2001:db8:cafe:17::66
RT_EXT4=203.0.113.102
EXT6=2001:db8:cafe:17::1
EXT4=203.0.113.1
EXT_LO6=2001:db8:beef::1        # "beyond the router": on the external host's lo
DNS6=2001:db8:cafe:a::e

LAB_STEP_TIMEOUT=${LAB_STEP_TIMEOUT:-20}  # seconds for any bounded wait

lab_log() { printf '[lab] %s\n' "$*" >&2; }
lab_die() {
    printf '[lab] error: %s\n' "$*" >&2
    exit 1
}

# lab_init [ID]: names for run ID (default: this shell's PID, plus a suffix
# if a leftover of an earlier run with the same PID is still around).
lab_init() {
    local id=${1:-$$}
    if [[ -z ${1:-} ]]; then
        local n=0
        while [[ -e $LAB_STATE_ROOT/$id ]] || grep -qE "^rl-(vm|rt|ext)-$id( |$)" <<<"$(ip netns list 2>/dev/null)"; do
            n=$((n + 1))
            id="$$x$n"
        done
    fi
    LAB_ID=$id
    NS_VM=rl-vm-$id
    NS_RT=rl-rt-$id
    NS_EXT=rl-ext-$id
    LAB_DIR=$LAB_STATE_ROOT/$id
    LAB_STATE=$LAB_DIR/state
    LAB_SOCK=$LAB_DIR/control.sock
    LAB_LOG=$LAB_DIR/routelet.log
    LAB_ROUTELET_PID=
    LAB_KEEP=0
    ROUTER=${ROUTER:-routelet}
    case $ROUTER in
    routelet | kernel) ;;
    *) lab_die "ROUTER must be 'routelet' or 'kernel', not '$ROUTER'" ;;
    esac
    if [[ $ROUTER == kernel ]]; then VM6=$VM6_STATIC; else VM6=$VM6_SLAAC; fi
}

lab_require_root() {
    [[ $(id -u) -eq 0 ]] || lab_die "the lab needs root (network namespaces): run it with sudo"
}

# In-namespace shorthands. Every command that talks to the network is
# wrapped in `timeout` by its caller.
in_vm() { ip netns exec "$NS_VM" "$@"; }
in_rt() { ip netns exec "$NS_RT" "$@"; }
in_ext() { ip netns exec "$NS_EXT" "$@"; }

# wait_until SECONDS WHAT CMD...: poll CMD every 0.2 s; fail with WHAT.
wait_until() {
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            lab_log "timed out after ${secs}s waiting for: $what"
            return 1
        fi
        sleep 0.2
    done
}

# ---------------------------------------------------------------- build --

# lab_build: target/release/routelet, rebuilt if missing or older than the
# sources.
lab_build() {
    if [[ -n ${ROUTELET_BIN:-} ]]; then
        [[ -x $LAB_BIN ]] || lab_die "ROUTELET_BIN=$LAB_BIN is not an executable"
        return 0
    fi
    if [[ ! -x $LAB_BIN ]] || [[ -n $(find "$LAB_REPO/src" "$LAB_REPO/Cargo.toml" "$LAB_REPO/Cargo.lock" \
        -newer "$LAB_BIN" -print -quit 2>/dev/null) ]]; then
        lab_log "building routelet (cargo build --release)"
        (cd "$LAB_REPO" && cargo build --release --quiet)
    fi
}

# lab_has_run: does this build have the live dataplane (`routelet run`)?
lab_has_run() {
    "$LAB_BIN" run --help >/dev/null 2>&1
}

# --------------------------------------------------------------- state --

lab_state_add() {
    printf '%s\n' "$*" >>"$LAB_STATE"
}

# Start time of PID (field 22 of /proc/PID/stat), to tell it from a later
# process that reuses the number.
pid_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # Fields after the command name, which is in parentheses and may hold
    # spaces: field 3 is the first word after ") ".
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    [[ $# -ge 20 ]] || return 1
    printf '%s\n' "${20}"
}

# lab_track PID NAME: record a process this run started.
lab_track() {
    local start
    start=$(pid_starttime "$1") || start=0
    lab_state_add "pid $1 $start $2"
}

# descendants PID: the PIDs of PID's children, grandchildren, ... (a
# process this run started owns its descendants, e.g. trafgen's workers
# under `timeout`).
descendants() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        {
            if (!match($0, /\) [A-Za-z] /)) next
            split(substr($0, RSTART + 2), f, " ")
            ppid[$1] = f[2]
        }
        END {
            want[root] = 1
            do {
                grew = 0
                for (p in ppid) if (!(p in want) && (ppid[p] in want)) { want[p] = 1; grew = 1 }
            } while (grew)
            for (p in want) if (p != root) print p
        }'
}

# alive PID: PID exists and is not a zombie.
alive() {
    [[ -e /proc/$1 ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# stop_pid PID START NAME: SIGTERM to the process and its descendants,
# a bounded wait, then SIGKILL to what is left; only if PID still has the
# recorded start time (else the number belongs to someone else now).
stop_pid() {
    local pid=$1 start=$2 name=$3 now i p tree
    now=$(pid_starttime "$pid") || return 0
    if [[ $start != 0 && $now != "$start" ]]; then
        return 0
    fi
    mapfile -t tree < <(descendants "$pid")
    kill -TERM "$pid" "${tree[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    for p in "$pid" "${tree[@]}"; do
        if alive "$p"; then
            lab_log "$name (pid $p) ignored SIGTERM for 5 s: SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    wait "$pid" 2>/dev/null || true
}

# lab_teardown_state FILE: undo what a state file records (processes first,
# then namespaces, which takes the veths with them), then its directory.
lab_teardown_state() {
    local file=$1 dir kind a b c
    dir=$(dirname "$file")
    if [[ -f $file ]]; then
        while read -r kind a b c; do
            [[ $kind == pid ]] && stop_pid "$a" "$b" "$c"
        done <"$file"
        # Directories a run made outside its own (bench state on disk).
        while read -r kind a _; do
            [[ $kind == dir && $a == /var/tmp/routelet-* ]] && rm -rf -- "$a"
        done <"$file"
        while read -r kind a _; do
            if [[ $kind == netns ]] && grep -qE "^$a( |$)" <<<"$(ip netns list)"; then
                ip netns del "$a" 2>/dev/null || lab_log "could not delete namespace $a"
            fi
        done <"$file"
    fi
    rm -rf -- "$dir"
}

# lab_cleanup: the EXIT trap. Removes this run unless lab_keep was called
# (a successful `up`).
lab_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [[ ${LAB_KEEP:-0} == 1 || -z ${LAB_DIR:-} ]]; then
        return "$rc"
    fi
    if [[ -f ${LAB_STATE:-/nonexistent} ]]; then
        lab_teardown_state "$LAB_STATE"
    fi
    return "$rc"
}

# lab_keep: leave this run up on exit (a successful `up`), marked for
# `down` without an id.
lab_keep() {
    LAB_KEEP=1
    lab_state_add "kept"
}

lab_traps() {
    trap lab_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# ------------------------------------------------------------ topology --

# veth_prepare NS IF MAC: fixed MAC, offloads off (DESIGN.md "veth facts":
# no GRO/GSO/TSO super-frames, no partial checksums).
veth_prepare() {
    local ns=$1 ifc=$2 mac=$3
    ip -n "$ns" link set "$ifc" address "$mac"
    ip netns exec "$ns" ethtool -K "$ifc" gro off gso off tso off tx off rx off >/dev/null 2>&1 ||
        lab_die "ethtool -K $ifc (offloads off) failed in $ns"
}

# lab_create: namespaces, veths, the external host and the VM's static
# parts. The router's side is left to lab_router_kernel / lab_routelet_start,
# and vm0 stays down until the router is ready (the VM's kernel sends its
# three router solicitations when the link comes up).
lab_create() {
    lab_require_root
    mkdir -p "$LAB_DIR"
    chmod 0700 "$LAB_DIR"
    : >"$LAB_STATE"
    lab_state_add "id $LAB_ID"
    lab_state_add "owner $$ $(pid_starttime $$)"
    lab_state_add "router $ROUTER"
    local ns
    for ns in "$NS_VM" "$NS_RT" "$NS_EXT"; do
        lab_state_add "netns $ns"
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done

    ip -n "$NS_VM" link add vm0 type veth peer name qr0 netns "$NS_RT"
    ip -n "$NS_EXT" link add ext0 type veth peer name qg0 netns "$NS_RT"
    veth_prepare "$NS_VM" vm0 "$MAC_VM0"
    veth_prepare "$NS_RT" qr0 "$MAC_QR0"
    veth_prepare "$NS_RT" qg0 "$MAC_QG0"
    veth_prepare "$NS_EXT" ext0 "$MAC_EXT0"

    # External host: the upstream router of the external network.
    in_ext sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_ratelimit=0
    ip -n "$NS_EXT" addr add "$EXT6/64" dev ext0 nodad
    ip -n "$NS_EXT" addr add "$EXT4/24" dev ext0
    ip -n "$NS_EXT" addr add "$EXT_LO6/128" dev lo
    ip -n "$NS_EXT" link set ext0 up
    ip -n "$NS_EXT" -6 route add 2001:db8:cafe::/48 via "$RT_EXT6" dev ext0
    ip -n "$NS_EXT" -4 route add 198.51.100.0/24 via "$RT_EXT4" dev ext0

    # VM: a plain host; EUI-64 addresses, no privacy addresses, takes RAs.
    ip -n "$NS_VM" link set vm0 addrgenmode eui64
    in_vm sysctl -qw net.ipv6.conf.vm0.use_tempaddr=0 net.ipv6.conf.vm0.accept_ra=1 \
        net.ipv6.conf.vm0.autoconf=1
    ip -n "$NS_VM" addr add "$VM4/24" dev vm0

    ip -n "$NS_RT" link set qr0 mtu 1500
}

# lab_router_kernel: the Linux kernel as the router, same addresses as
# routelet's config, as kernel addresses.
lab_router_kernel() {
    in_rt sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1 \
        net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_ratelimit=0
    ip -n "$NS_RT" addr add "$GW6/64" dev qr0 nodad
    ip -n "$NS_RT" addr add "$GW4/24" dev qr0
    ip -n "$NS_RT" addr add "$RT_EXT6/64" dev qg0 nodad
    ip -n "$NS_RT" addr add "$RT_EXT4/24" dev qg0
    ip -n "$NS_RT" link set qr0 up
    ip -n "$NS_RT" link set qg0 up
    ip -n "$NS_RT" -6 route add default via "$EXT6" dev qg0
    ip -n "$NS_RT" -4 route add default via "$EXT4" dev qg0
}

# lab_router_unkernel: take the kernel router's addresses and forwarding
# away again, so that routelet can own qr0/qg0 (it refuses kernel IPv4
# addresses on its interfaces).
lab_router_unkernel() {
    ip -n "$NS_RT" -4 addr flush dev qr0
    ip -n "$NS_RT" -4 addr flush dev qg0
    in_rt sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv4.ip_forward=0
    lab_router_quiet
}

# lab_router_quiet: the router namespace's kernel stays silent on qr0/qg0
# (routelet sets this too at start; doing it before the links come up keeps
# the kernel from sending DAD/RS/MLD in between).
lab_router_quiet() {
    in_rt sysctl -qw net.ipv6.conf.qr0.disable_ipv6=1 net.ipv6.conf.qg0.disable_ipv6=1
    ip -n "$NS_RT" link set qr0 up
    ip -n "$NS_RT" link set qg0 up
}

# lab_render SRC DST: a testdata/lab config with control_socket and
# state_dir moved into this run's directory.
lab_render() {
    local src=$1 dst=$2
    if ! grep -q '^control_socket = ' "$src" || ! grep -q '^state_dir = ' "$src"; then
        lab_die "$src lacks the control_socket/state_dir lines the lab rewrites"
    fi
    sed -e "s|^control_socket = .*|control_socket = \"$LAB_SOCK\"|" \
        -e "s|^state_dir = .*|state_dir = \"$LAB_DIR/state.d\"|" "$src" >"$dst"
}

# lab_render_all: every lab config, rendered into LAB_DIR.
lab_render_all() {
    local f
    for f in slaac stateless stateful stateful-reserved pd-server pd-client mtu1280; do
        lab_render "$LAB_REPO/testdata/lab/$f.toml" "$LAB_DIR/$f.toml"
    done
}

# ctl ARGS...: routelet ctl on this run's socket, bounded.
ctl() {
    timeout 10 "$LAB_BIN" ctl --socket "$LAB_SOCK" "$@"
}

# lab_routelet_start [WORKERS]: routelet run in the router namespace, in the
# background, tracked by PID; waits until the control socket answers.
lab_routelet_start() {
    local workers=${1:-}
    local args=(run --config "$LAB_DIR/${LAB_CONFIG:-slaac}.toml" --state-dir "$LAB_DIR/state.d")
    [[ -n $workers ]] && args+=(--workers "$workers")
    mkdir -p "$LAB_DIR/state.d"
    # `ip netns exec` execs the command: $! is routelet itself. As a
    # background job of a script it ignores SIGINT; it is stopped by
    # SIGTERM, by this PID.
    ip netns exec "$NS_RT" "$LAB_BIN" "${args[@]}" >>"$LAB_LOG" 2>&1 &
    LAB_ROUTELET_PID=$!
    lab_track "$LAB_ROUTELET_PID" routelet
    if ! wait_until "$LAB_STEP_TIMEOUT" "routelet control socket $LAB_SOCK" lab_routelet_ready; then
        lab_log "routelet log ($LAB_LOG):"
        tail -n 30 "$LAB_LOG" >&2 || true
        lab_die "routelet did not become ready"
    fi
}

lab_routelet_ready() {
    [[ -e /proc/$LAB_ROUTELET_PID ]] || {
        lab_log "routelet exited; log:"
        tail -n 30 "$LAB_LOG" >&2 || true
        lab_die "routelet exited during start-up"
    }
    [[ -S $LAB_SOCK ]] && ctl status
}

# lab_routelet_stop: SIGTERM the routelet this run started; it must exit 0.
lab_routelet_stop() {
    [[ -n $LAB_ROUTELET_PID ]] || return 0
    local pid=$LAB_ROUTELET_PID rc=0
    LAB_ROUTELET_PID=
    kill -TERM "$pid" 2>/dev/null || true
    timeout 10 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    # Forget it in the state file (it is gone; its PID may be reused).
    sed -i "/^pid $pid /d" "$LAB_STATE"
    return "$rc"
}

# no_tentative NS: no address in NS is still in duplicate address detection.
no_tentative() {
    # (No `ip | grep -q` under pipefail: grep's early exit would SIGPIPE ip
    # and turn the pipeline's status into a false answer.)
    ! grep -q tentative <<<"$(ip -n "$1" -6 addr show)"
}

vm_has_slaac() {
    grep -q "inet6 $VM6_SLAAC/64 .*scope global" <<<"$(ip -n "$NS_VM" -6 addr show dev vm0)" &&
        grep -q "via $GW6_LL dev vm0 proto ra" <<<"$(ip -n "$NS_VM" -6 route show default)"
}

# lab_vm_up: bring vm0 up and wait until the VM is configured: its
# addresses non-tentative and a default route (from routelet's RA, or
# static in kernel mode).
lab_vm_up() {
    if [[ $ROUTER == kernel ]]; then
        ip -n "$NS_VM" addr add "$VM6_STATIC/64" dev vm0
    fi
    ip -n "$NS_VM" link set vm0 up
    ip -n "$NS_VM" -4 route add default via "$GW4" dev vm0
    if [[ $ROUTER == kernel ]]; then
        ip -n "$NS_VM" -6 route add default via "$GW6" dev vm0
    else
        wait_until "$LAB_STEP_TIMEOUT" "the VM's SLAAC address $VM6_SLAAC/64 and default route via $GW6_LL (from routelet's RA)" \
            vm_has_slaac || {
            ip -n "$NS_VM" -6 addr show dev vm0 >&2
            ip -n "$NS_VM" -6 route show >&2
            lab_die "the VM did not configure itself from routelet's RA"
        }
    fi
    wait_until "$LAB_STEP_TIMEOUT" "no tentative address in the VM" no_tentative "$NS_VM" ||
        lab_die "the VM's addresses stayed tentative (duplicate address detection)"
    wait_until "$LAB_STEP_TIMEOUT" "no tentative address on the external host" no_tentative "$NS_EXT" ||
        lab_die "the external host's addresses stayed tentative"
}

# lab_up: the whole lab, ready to use.
lab_up() {
    lab_require_root
    command -v ethtool >/dev/null || lab_die "ethtool missing: run scripts/install-deps.sh as root"
    lab_build
    if [[ $ROUTER == routelet ]] && ! lab_has_run; then
        lab_die "$LAB_BIN has no 'run' subcommand (not a routelet binary, or a stale one: rebuild it, or point ROUTELET_BIN elsewhere); ROUTER=kernel runs the lab with the Linux kernel as the router"
    fi
    lab_log "run $LAB_ID: namespaces $NS_VM $NS_RT $NS_EXT, router: $ROUTER"
    lab_create
    if [[ $ROUTER == kernel ]]; then
        lab_router_kernel
    else
        lab_render_all
        "$LAB_BIN" check --config "$LAB_DIR/slaac.toml" >/dev/null ||
            lab_die "routelet check rejects $LAB_DIR/slaac.toml"
        lab_router_quiet
        lab_routelet_start "${WORKERS:-}"
    fi
    lab_vm_up
    lab_log "ready: VM $VM6 / $VM4, gateway $GW6 / $GW4, external $EXT6 / $EXT4 and $EXT_LO6"
}

# lab_diag: the state of every namespace, for failure messages.
lab_diag() {
    local ns
    for ns in "$NS_VM" "$NS_RT" "$NS_EXT"; do
        echo "--- $ns"
        ip -n "$ns" -br link 2>&1
        ip -n "$ns" -br addr 2>&1
        ip -n "$ns" -6 route 2>&1
        ip -n "$ns" neigh 2>&1
    done
}
