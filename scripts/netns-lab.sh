#!/usr/bin/env bash
# routelet's netns lab: a tenant VM, the router and an external host in three
# network namespaces joined by veth pairs, with real Linux clients (the
# kernel's SLAAC, ping, tracepath, ndisc6/rdisc6/rltraceroute6).
#
#   vm0 (rl-vm-ID) ── qr0 [router: rl-rt-ID] qg0 ── ext0 (rl-ext-ID)
#
# Usage (as root):
#   scripts/netns-lab.sh demo      # up, show SLAAC / pings / neighbors, down
#   scripts/netns-lab.sh test      # end-to-end checks: PASS/FAIL each, exit 1 on any failure
#   scripts/netns-lab.sh up        # build the lab and leave it running (prints how to use it)
#   scripts/netns-lab.sh down [ID] # remove what an earlier `up` left (without ID: every run
#                                  #   kept by `up` or whose script died; not running tests)
#
# ROUTER=routelet (default) runs `routelet run` (target/release/routelet,
# built if older than the sources) with testdata/lab/slaac.toml; ROUTER=kernel
# makes the Linux kernel the router instead (same addresses as kernel
# addresses, forwarding on, the VM configured statically), the baseline of
# scripts/bench-netns.sh. WORKERS=N passes --workers N to routelet;
# ROUTELET_BIN=PATH uses that binary instead of building one.
# Addresses: DESIGN.md's lab plan (2001:db8::/32, 198.51.100.0/24,
# 203.0.113.0/24). Every run names its namespaces after its own id, records
# them and its PIDs in /run/routelet-lab/ID/state, and removes them on exit.
set -euo pipefail

# shellcheck source=scripts/lib/lab.sh
source "$(dirname "$0")/lib/lab.sh"
# shellcheck source=scripts/lib/lab_dhcp.sh
source "$(dirname "$0")/lib/lab_dhcp.sh"

usage() {
    cat >&2 <<'EOF'
Usage (as root):
  scripts/netns-lab.sh demo      # up, show SLAAC / pings / neighbors, down
  scripts/netns-lab.sh test      # end-to-end checks: PASS/FAIL each, exit 1 on any failure
  scripts/netns-lab.sh up        # build the lab and leave it running (prints how to use it)
  scripts/netns-lab.sh down [ID] # remove what an earlier `up` left (without ID: every run
                                 #   kept by `up` or whose script died; not running tests)
EOF
    exit 2
}

heading() { printf '\n=== %s\n' "$*"; }

# Show a command, then run it (demo output).
show() {
    printf '$ %s\n' "$*"
    "$@" 2>&1 | sed 's/^/    /' || true
}

# ---------------------------------------------------------------- checks --

PASSED=0
FAILED=0
pass() {
    PASSED=$((PASSED + 1))
    printf 'PASS %s\n' "$1"
}
fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL %s: %s\n' "$1" "$2"
}

# ping_ok NS FAMILY DEST [ping args]: at least one reply out of three.
# Prints the packet-loss summary for the caller's message.
ping_ok() {
    local ns=$1 fam=$2 dst=$3 out
    shift 3
    out=$(timeout 10 ip netns exec "$ns" ping "-$fam" -n -c 3 -i 0.2 -W 2 "$@" "$dst" 2>&1) || {
        printf '%s' "$(grep -m 2 -E 'packet loss|unreachable|error' <<<"$out" | tr '\n' ' ')"
        return 1
    }
    grep -m 1 -oE '[0-9]+ received' <<<"$out"
}

check_ping() {
    local name=$1 ns=$2 fam=$3 dst=$4 why
    if why=$(ping_ok "$ns" "$fam" "$dst"); then
        pass "$name ($why of 3)"
    else
        fail "$name" "no reply from $dst (${why:-ping failed})"
    fi
}

# (1) The VM's kernel configured itself by SLAAC from routelet's RA.
check_slaac() {
    local addrs routes
    addrs=$(ip -n "$NS_VM" -6 addr show dev vm0)
    routes=$(ip -n "$NS_VM" -6 route show default)
    if ! grep -q "inet6 $VM6_SLAAC/64 scope global" <<<"$addrs"; then
        fail slaac-address "vm0 has no $VM6_SLAAC/64: $(tr -s ' \n' ' ' <<<"$addrs")"
    elif grep -q "inet6 $VM6_SLAAC/64 .*tentative" <<<"$addrs"; then
        fail slaac-address "$VM6_SLAAC/64 is still tentative"
    else
        pass "slaac-address ($VM6_SLAAC/64)"
    fi
    if grep -q "^default via $GW6_LL dev vm0 proto ra" <<<"$routes"; then
        pass "slaac-default-route (via $GW6_LL proto ra)"
    else
        fail slaac-default-route "want 'default via $GW6_LL dev vm0 proto ra', have: ${routes:-none}"
    fi
}

# rdisc6_field OUTPUT LABEL: the value of "LABEL : value" in rdisc6's output.
rdisc6_field() {
    sed -nE "/^ *$2 *:/{s/^ *$2 *: *([^ ].*[^ ]|[^ ]) *$/\1/p;q}" <<<"$1"
}

# rdisc6_prefix_auto OUTPUT PREFIX: the autonomous flag of PREFIX's option.
rdisc6_prefix_auto() {
    awk -v p="$2" '
        $1 == "Prefix" { inpfx = ($NF == p); next }
        inpfx && /Autonomous address conf/ { print $NF; exit }
    ' <<<"$1"
}

# (2) RA flags per mode, applied live: mode M O A.
check_ra_modes() {
    local mode m o a out got_m got_o got_a got_dns
    for mode in "slaac No No Yes" "stateless No Yes Yes" "stateful Yes No No"; do
        read -r mode m o a <<<"$mode"
        if ! out=$(ctl apply "$LAB_DIR/$mode.toml" 2>&1); then
            fail "ra-flags-$mode" "ctl apply $mode.toml failed: $out"
            continue
        fi
        if ! out=$(timeout 10 ip netns exec "$NS_VM" rdisc6 -1 -n -r 3 -w 1500 vm0 2>&1); then
            fail "ra-flags-$mode" "rdisc6 got no RA: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
            continue
        fi
        got_m=$(rdisc6_field "$out" 'Stateful address conf\.')
        got_o=$(rdisc6_field "$out" 'Stateful other conf\.')
        got_a=$(rdisc6_prefix_auto "$out" 2001:db8:cafe::/64)
        got_dns=$(rdisc6_field "$out" 'Recursive DNS server')
        if [[ $got_m == "$m" && $got_o == "$o" && $got_a == "$a" && $got_dns == "$DNS6" ]]; then
            pass "ra-flags-$mode (managed $m, other $o, prefix 2001:db8:cafe::/64 autonomous $a, RDNSS $DNS6)"
        else
            fail "ra-flags-$mode" "want managed/other/autonomous/RDNSS $m/$o/$a/$DNS6, rdisc6 shows ${got_m:-?}/${got_o:-?}/${got_a:-?}/${got_dns:-?}"
        fi
    done
    ctl apply "$LAB_DIR/slaac.toml" >/dev/null 2>&1 || fail ra-flags-restore "ctl apply slaac.toml failed"
}

# (5) ndisc6 resolves the gateway to the router's MAC.
check_ndisc() {
    local out mac
    out=$(timeout 10 ip netns exec "$NS_VM" ndisc6 -1 -n -r 3 -w 1500 "$GW6" vm0 2>&1) || true
    mac=$(rdisc6_field "$out" 'Target link-layer address')
    if [[ ${mac,,} == "$MAC_QR0" ]]; then
        pass "ndisc6-gateway ($GW6 is at $MAC_QR0)"
    else
        fail ndisc6-gateway "want $MAC_QR0, ndisc6 says: ${mac:-$(tail -n 1 <<<"$out")}"
    fi
}

# (6) traceroute6 shows the router's hop first, then the destination.
check_traceroute() {
    local out hop1 last
    out=$(timeout 20 ip netns exec "$NS_VM" rltraceroute6 -n -q 1 -w 2 -m 5 "$EXT_LO6" 2>&1) || true
    hop1=$(awk '$1 == "1" { print $2; exit }' <<<"$out")
    last=$(awk '$1 ~ /^[0-9]+$/ { h = $2 } END { print h }' <<<"$out")
    if [[ $hop1 == "$GW6" && $last == "$EXT_LO6" ]]; then
        pass "traceroute6 (hop 1 $hop1, then $last)"
    else
        fail traceroute6 "want hop 1 $GW6 and last hop $EXT_LO6, got: $(tr -s ' \n' ' ' <<<"$out")"
    fi
}

# Set the external link's MTU (both kernel ends; routelet also by config).
set_ext_mtu() {
    local mtu=$1
    ip -n "$NS_EXT" link set ext0 mtu "$mtu"
    ip -n "$NS_RT" link set qg0 mtu "$mtu"
    ip -n "$NS_VM" -6 route flush cache >/dev/null 2>&1 || true
}

# (7) Packet Too Big at an MTU-1280 external link; tracepath learns 1280.
check_mtu() {
    local out cfg
    set_ext_mtu 1280
    if [[ $ROUTER == routelet ]]; then
        if ! out=$(ctl apply "$LAB_DIR/mtu1280.toml" 2>&1); then
            fail mtu-ptb "ctl apply mtu1280.toml failed: $out"
            set_ext_mtu 1500
            return
        fi
    fi
    out=$(timeout 10 ip netns exec "$NS_VM" ping -6 -n -c 3 -i 0.2 -W 2 -s 1400 -M "do" "$EXT6" 2>&1) || true
    if grep -qE "From $GW6 .*Packet too big: mtu=1280" <<<"$out"; then
        pass "mtu-ptb (1400-byte ping: Packet too big, mtu 1280, from $GW6)"
    else
        fail mtu-ptb "no Packet Too Big mtu=1280 from $GW6: $(tr -s ' \n' ' ' <<<"$out" | cut -c1-300)"
    fi
    ip -n "$NS_VM" -6 route flush cache >/dev/null 2>&1 || true
    out=$(timeout 20 ip netns exec "$NS_VM" tracepath -6 -n -m 5 "$EXT6" 2>&1) || true
    if grep -qE "Resume: pmtu 1280" <<<"$out"; then
        pass "mtu-tracepath (pmtu 1280)"
    else
        fail mtu-tracepath "tracepath did not learn pmtu 1280: $(tr -s ' \n' ' ' <<<"$out" | cut -c1-300)"
    fi
    set_ext_mtu 1500
    if [[ $ROUTER == routelet ]]; then
        cfg=$LAB_DIR/slaac.toml
        ctl apply "$cfg" >/dev/null 2>&1 || fail mtu-restore "ctl apply slaac.toml failed"
    fi
}

# (8) A route added live takes effect without a restart. The new prefix
# 2001:db8:f00d::/48 goes via a second address of the external host,
# 2001:db8:cafe:17::2, not the default route's ::1: the router resolving ::2
# proves it used the new route, not ::/0 (which reaches the same host).
NEW_PREFIX=2001:db8:f00d::/48
NEW_DEST=2001:db8:f00d::1
NEW_NH=2001:db8:cafe:17::2

router_neighbors() {
    if [[ $ROUTER == kernel ]]; then
        ip -n "$NS_RT" -6 neigh show
    else
        ctl show neighbors
    fi
}

check_live_route() {
    local pid_before=${LAB_ROUTELET_PID:-} out why
    ip -n "$NS_EXT" addr add "$NEW_DEST/128" dev lo
    ip -n "$NS_EXT" addr add "$NEW_NH/64" dev ext0 nodad
    if grep -qw "$NEW_NH" <<<"$(router_neighbors 2>/dev/null)"; then
        fail live-route "the router knows $NEW_NH before the route exists"
        return
    fi
    if [[ $ROUTER == kernel ]]; then
        ip -n "$NS_RT" -6 route add "$NEW_PREFIX" via "$NEW_NH" dev qg0
    else
        cp "$LAB_DIR/slaac.toml" "$LAB_DIR/route-added.toml"
        printf '\n[[route]]\ndestination = "%s"\nnexthop = "%s"\n' "$NEW_PREFIX" "$NEW_NH" \
            >>"$LAB_DIR/route-added.toml"
        if ! out=$(ctl apply "$LAB_DIR/route-added.toml" 2>&1); then
            fail live-route "ctl apply with the new route failed: $out"
            return
        fi
        if ! grep -q "${NEW_PREFIX%/*}" <<<"$(ctl show routes 2>/dev/null)"; then
            fail live-route "ctl show routes does not list $NEW_PREFIX after apply"
            return
        fi
    fi
    if ! why=$(ping_ok "$NS_VM" 6 "$NEW_DEST"); then
        fail live-route "no reply from $NEW_DEST after adding $NEW_PREFIX via $NEW_NH (${why:-ping failed})"
    elif ! grep -qw "$NEW_NH" <<<"$(router_neighbors 2>/dev/null)"; then
        fail live-route "ping worked but the router never resolved $NEW_NH: the new route was not used"
    elif [[ $ROUTER == routelet && ($LAB_ROUTELET_PID != "$pid_before" || ! -e /proc/$pid_before) ]]; then
        fail live-route "routelet's PID changed or it exited (was $pid_before)"
    else
        pass "live-route ($NEW_PREFIX via $NEW_NH added live, $why of 3 pings${pid_before:+, routelet pid $pid_before unchanged})"
    fi
}

check_routelet_alive() {
    if [[ -e /proc/$LAB_ROUTELET_PID ]] && ctl status >/dev/null 2>&1; then
        pass "routelet-alive (pid $LAB_ROUTELET_PID, control socket answers)"
    else
        fail routelet-alive "routelet (pid $LAB_ROUTELET_PID) is gone or its control socket does not answer"
    fi
}

# (10) One router per interface: a second `routelet run` (another name,
# another control socket) on the same qr0/qg0 must refuse to start, naming
# the interface and the first router's PID, while the first keeps
# forwarding; after a SIGKILL of the first (no clean exit, its locks die
# with it) a restart takes the interfaces over.
check_one_router_per_interface() {
    local name=one-router-per-interface cfg2=$LAB_DIR/second.toml out rc=0 first=$LAB_ROUTELET_PID why
    # First `name =` only: the router's (subnets have names too).
    sed -e '0,/^name = .*/s//name = "lab-second"/' \
        -e "s|^control_socket = .*|control_socket = \"$LAB_DIR/second.sock\"|" \
        -e "s|^state_dir = .*|state_dir = \"$LAB_DIR/second.d\"|" "$LAB_DIR/slaac.toml" >"$cfg2"
    # Bounded: a second router that wrongly starts is stopped by timeout
    # (exit 124), which fails the check.
    out=$(timeout 10 ip netns exec "$NS_RT" "$LAB_BIN" run --config "$cfg2" \
        --state-dir "$LAB_DIR/second.d" 2>&1) || rc=$?
    if ((rc == 0 || rc == 124)); then
        fail "$name" "a second routelet on qr0/qg0 started (exit $rc)"
        return
    fi
    if ! grep -qE 'interface "q[rg]0" is owned by another routelet \(PID '"$first"'[,)]' <<<"$out"; then
        fail "$name" "the second routelet exited $rc without naming the interface and PID $first: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
        return
    fi
    if ! why=$(ping_ok "$NS_VM" 6 "$EXT6"); then
        fail "$name" "the first routelet stopped forwarding after the refused start (${why:-ping failed})"
        return
    fi
    # SIGKILL: no clean exit. The kernel drops its locks with its files.
    kill -KILL "$first" 2>/dev/null || true
    wait "$first" 2>/dev/null || true
    sed -i "/^pid $first /d" "$LAB_STATE"
    LAB_ROUTELET_PID=
    lab_routelet_start "${WORKERS:-}"
    if ! why=$(ping_ok "$NS_VM" 6 "$EXT6"); then
        fail "$name" "the router restarted after SIGKILL (pid $LAB_ROUTELET_PID) does not forward (${why:-ping failed})"
        return
    fi
    pass "$name (second run refused, exit $rc, naming PID $first; restart after SIGKILL: pid $LAB_ROUTELET_PID, $why of 3)"
}

# ring_drops_of IFACE KIND: rx_ring_drops_KIND of IFACE in `show stats`.
ring_drops_of() {
    ctl --json show stats | /usr/bin/python3 -c '
import json, sys
iface, key = sys.argv[1], "rx_ring_drops_" + sys.argv[2]
data = json.load(sys.stdin)
rows = data.get("data", data) if isinstance(data, dict) else data
for row in rows:
    if row.get("iface") == iface:
        print(row.get("counters", {})[key])
        break
else:
    sys.exit(1)
' "$1" "$2"
}

# (11) Ring drops of every socket are counted: a burst of 30000 NS from the
# VM (raw AF_PACKET sends, bounded) overflows the one-block ring of the
# ND/ARP sockets, and `show stats` shows it as rx_ring_drops_neighbor
# (with one worker there is no such socket, and the key stays 0).
check_neighbor_ring_drops() {
    local name=neighbor-ring-drops before after workers
    workers=$(ctl --json status | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("data", d).get("workers", 0))' 2>/dev/null) || workers=0
    if ! before=$(ring_drops_of qr0 neighbor 2>/dev/null); then
        fail "$name" "show stats --json has no rx_ring_drops_neighbor for qr0"
        return
    fi
    timeout 60 ip netns exec "$NS_VM" /usr/bin/python3 "$LAB_REPO/scripts/lib/ns_burst.py" \
        vm0 "$MAC_VM0" "$VM6" "$GW6" 30000 || true
    sleep 0.5
    if ! after=$(ring_drops_of qr0 neighbor 2>/dev/null); then
        fail "$name" "show stats --json has no rx_ring_drops_neighbor for qr0 after the burst"
    elif ((workers > 1 && after <= before)); then
        fail "$name" "30000 NS in a burst and rx_ring_drops_neighbor stayed at $after ($workers workers)"
    elif ((workers > 1)); then
        pass "$name (30000 NS in a burst: qr0 rx_ring_drops_neighbor $before -> $after)"
    else
        pass "$name (one worker: no ND/ARP socket, rx_ring_drops_neighbor $after shown)"
    fi
}

run_checks() {
    if [[ ${CHECKS:-all} == dhcp ]]; then
        run_dhcp_checks
        return
    fi
    if [[ $ROUTER == routelet ]]; then
        check_slaac             # (1)
        check_ra_modes          # (2)
    fi
    check_ping ping6-gateway "$NS_VM" 6 "$GW6"                # (3)
    check_ping ping6-vm-to-external "$NS_VM" 6 "$EXT6"        # (4)
    check_ping ping6-vm-to-beyond "$NS_VM" 6 "$EXT_LO6"
    check_ping ping6-external-to-vm "$NS_EXT" 6 "$VM6"
    check_ndisc                 # (5)
    check_traceroute            # (6)
    check_mtu                   # (7)
    check_live_route            # (8)
    check_ping ping4-gateway "$NS_VM" 4 "$GW4"                # (9)
    check_ping ping4-vm-to-external "$NS_VM" 4 "$EXT4"
    check_ping ping4-external-to-vm "$NS_EXT" 4 "$VM4"
    if [[ $ROUTER == routelet ]]; then
        run_dhcp_checks                  # (12) DHCPv6 with real clients
        check_neighbor_ring_drops        # (11)
        check_one_router_per_interface   # (10)
        check_routelet_alive
    fi
}

cmd_test() {
    lab_init ""
    lab_traps
    lab_up
    run_checks
    if [[ $ROUTER == routelet ]]; then
        if lab_routelet_stop; then
            pass "routelet-sigterm (exit 0)"
        else
            fail routelet-sigterm "routelet did not exit 0 on SIGTERM"
        fi
    fi
    if ((FAILED)) && [[ $ROUTER == routelet ]]; then
        echo "--- routelet log (last 40 lines)"
        tail -n 40 "$LAB_LOG" || true
    fi
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

# ------------------------------------------------------------------ demo --

cmd_demo() {
    lab_init ""
    lab_traps
    heading "up: namespaces $NS_VM (VM) / $NS_RT (router: $ROUTER) / $NS_EXT (external host)"
    lab_up
    if [[ $ROUTER == routelet ]]; then
        heading "the VM configured itself from routelet's router advertisement (SLAAC)"
    else
        heading "the VM (static addresses: the kernel router sends no RA)"
    fi
    show ip -n "$NS_VM" -6 addr show dev vm0
    show ip -n "$NS_VM" -6 route show
    if [[ $ROUTER == routelet ]]; then
        heading "the router advertisement, as rdisc6 in the VM decodes it"
        show timeout 10 ip netns exec "$NS_VM" rdisc6 -1 -n vm0
    fi
    heading "ping6 the gateway $GW6"
    show timeout 10 ip netns exec "$NS_VM" ping -6 -n -c 3 -i 0.2 -W 2 "$GW6"
    heading "ping6 through the router: the external host $EXT6 and $EXT_LO6 behind it"
    show timeout 10 ip netns exec "$NS_VM" ping -6 -n -c 3 -i 0.2 -W 2 "$EXT6"
    show timeout 10 ip netns exec "$NS_VM" ping -6 -n -c 3 -i 0.2 -W 2 "$EXT_LO6"
    heading "traceroute6: the router is the first hop"
    show timeout 20 ip netns exec "$NS_VM" rltraceroute6 -n -q 1 -w 2 -m 5 "$EXT_LO6"
    heading "IPv4 through the router: $VM4 -> $EXT4"
    show timeout 10 ip netns exec "$NS_VM" ping -4 -n -c 3 -i 0.2 -W 2 "$EXT4"
    heading "the router's neighbors"
    if [[ $ROUTER == routelet ]]; then
        show timeout 10 "$LAB_BIN" ctl --socket "$LAB_SOCK" show neighbors
    else
        show ip -n "$NS_RT" neigh show
    fi
    if [[ $ROUTER == routelet ]] && command -v dhclient >/dev/null; then
        heading "DHCPv6-stateful, applied live: dhclient -6 in the VM gets a lease from routelet's server"
        show timeout 10 "$LAB_BIN" ctl --socket "$LAB_SOCK" apply "$LAB_DIR/stateful.toml"
        dhcp_hook
        show timeout 15 ip netns exec "$NS_VM" dhclient -6 -1 -v -lf "$LAB_DIR/dhclient.leases" \
            -pf "$LAB_DIR/dhclient.pid" -sf "$DHCP_HOOK" vm0
        show ip -n "$NS_VM" -6 addr show dev vm0 scope global
        heading "the lease, on disk in routelet's journal before the Reply left"
        show timeout 10 "$LAB_BIN" ctl --socket "$LAB_SOCK" show leases
        if [[ -s $LAB_DIR/dhclient.pid ]]; then
            kill -TERM "$(cat "$LAB_DIR/dhclient.pid")" 2>/dev/null || true
        fi
    fi
    heading "down"
    if [[ $ROUTER == routelet ]]; then
        lab_routelet_stop && echo "routelet exited 0 on SIGTERM (final RA sent)"
    fi
}

# ------------------------------------------------------------ up / down --

cmd_up() {
    lab_init ""
    lab_traps
    lab_up
    lab_keep
    cat <<EOF
lab $LAB_ID is up (router: $ROUTER).
  VM:       ip netns exec $NS_VM bash       ($VM6, $VM4)
  router:   ip netns exec $NS_RT bash       ($GW6 / $GW4 on qr0, $RT_EXT6 / $RT_EXT4 on qg0)
  external: ip netns exec $NS_EXT bash      ($EXT6, $EXT4, $EXT_LO6 on lo)
EOF
    if [[ $ROUTER == routelet ]]; then
        echo "  control:  $LAB_BIN ctl --socket $LAB_SOCK show neighbors"
        echo "  log:      $LAB_LOG"
    fi
    echo "  remove:   $0 down $LAB_ID"
}

# left_behind STATE: the run of STATE was kept by `up`, or the script that
# made it is gone (killed before its cleanup). A run whose `test` or `demo`
# is still going is not ours to remove.
left_behind() {
    local kind a b
    while read -r kind a b; do
        [[ $kind == kept ]] && return 0
        if [[ $kind == owner ]]; then
            [[ $(pid_starttime "$a" 2>/dev/null) == "$b" ]] && return 1
            return 0
        fi
    done <"$1"
    return 0
}

cmd_down() {
    lab_require_root
    local id=${1:-} state found=0
    if [[ -n $id ]]; then
        [[ $id =~ ^[0-9a-z]+$ ]] || lab_die "bad lab id '$id'"
        [[ -f $LAB_STATE_ROOT/$id/state ]] || lab_die "no lab $id (no $LAB_STATE_ROOT/$id/state)"
        lab_teardown_state "$LAB_STATE_ROOT/$id/state"
        echo "lab $id removed"
        return
    fi
    for state in "$LAB_STATE_ROOT"/*/state; do
        [[ -f $state ]] || continue
        id=$(basename "$(dirname "$state")")
        if ! left_behind "$state"; then
            echo "lab $id belongs to a running netns-lab/bench (pid $(awk '$1 == "owner" { print $2 }' "$state")): left alone"
            continue
        fi
        found=1
        lab_teardown_state "$state"
        echo "lab $id removed"
    done
    ((found)) || echo "no lab to remove"
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || usage
    shift
    case $cmd in
    up | demo | test)
        lab_require_root
        "$LAB_REPO/scripts/install-deps.sh"
        "cmd_$cmd"
        ;;
    down) cmd_down "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
    esac
}

main "$@"
