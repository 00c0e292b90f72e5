# shellcheck shell=bash
# The netns lab's DHCPv6 checks, with real clients (sourced by
# scripts/netns-lab.sh after lib/lab.sh): dhclient -6 -S and dhcpcd on a
# stateless subnet, dhclient -6 on a stateful one (pool, reservation,
# renewal, release), dhclient -6 -P against routelet's PD server, the PD
# client against an upstream dibbler-server and kea-dhcp6 (with a
# renumbering), and a SIGKILL while scripted clients are being served.

DHCP_HOOK=

# dhcp_hook: a dhclient script that appends one line per event to
# $LAB_DIR/dhclient.events (dhclient passes its variables in the
# environment of the script).
dhcp_hook() {
    DHCP_HOOK=$LAB_DIR/dhclient-hook.sh
    cat >"$DHCP_HOOK" <<'EOF'
#!/bin/sh
echo "reason=$reason addr=${new_ip6_address:-} prefix=${new_ip6_prefix:-} dns=${new_dhcp6_name_servers:-} search=${new_dhcp6_domain_search:-}" >>"${0%/*}/dhclient.events"
EOF
    chmod 0755 "$DHCP_HOOK"
    : >"$LAB_DIR/dhclient.events"
}

# dhclient_run ARGS...: dhclient in the VM with this run's lease, pid and
# script files, in the foreground (-d) in the background; sets DHCLIENT_PID.
dhclient_run() {
    # `ip netns exec` directly, not through in_vm: a shell function in the
    # background is a subshell, and $! would be the subshell, not dhclient
    # (stopping it left dhclient running after the lab).
    ip netns exec "$NS_VM" dhclient -6 -d -v -lf "$LAB_DIR/dhclient.leases" -pf "$LAB_DIR/dhclient.pid" \
        -sf "$DHCP_HOOK" "$@" vm0 >>"$LAB_DIR/dhclient.log" 2>&1 &
    DHCLIENT_PID=$!
    lab_track "$DHCLIENT_PID" dhclient
}

dhclient_stop() {
    [[ -n ${DHCLIENT_PID:-} ]] || return 0
    kill -TERM "$DHCLIENT_PID" 2>/dev/null || true
    wait "$DHCLIENT_PID" 2>/dev/null || true
    sed -i "/^pid $DHCLIENT_PID /d" "$LAB_STATE"
    DHCLIENT_PID=
    rm -f "$LAB_DIR/dhclient.leases" "$LAB_DIR/dhclient.pid"
}

# event_with PATTERN: an event line matching PATTERN was logged.
event_with() {
    grep -qE "$1" "$LAB_DIR/dhclient.events" 2>/dev/null
}

# lease_listed ADDRESS [STATE]: `ctl show leases` lists ADDRESS (bound).
lease_listed() {
    ctl --json show leases | /usr/bin/python3 -c '
import json, sys
rows = json.load(sys.stdin)
rows = rows.get("data", rows) if isinstance(rows, dict) else rows
sys.exit(0 if any(r["address"] == sys.argv[1] and r["state"] == "bound" for r in rows) else 1)
' "$1"
}

lease_gone() { ! lease_listed "$1"; }

check_dhcp_stateless() {
    local name=dhcpv6-stateless-dhclient line
    dhcp_hook
    if ! ctl apply "$LAB_DIR/stateless.toml" >/dev/null 2>&1; then
        fail "$name" "ctl apply stateless.toml failed"
        return
    fi
    dhclient_run -S
    if wait_until 15 "dhclient -6 -S to get a Reply" event_with "dns=$DNS6 search=openstacklocal"; then
        line=$(grep -m 1 "dns=$DNS6" "$LAB_DIR/dhclient.events")
        pass "$name (${line%% addr=*}: DNS $DNS6, search openstacklocal)"
    else
        fail "$name" "no Reply with DNS and search list: $(tail -n 3 "$LAB_DIR/dhclient.log" | tr '\n' ' ')"
    fi
    dhclient_stop
    check_dhcp_stateless_dhcpcd
}

# dhcpcd: Information-Request only (--inform6), in test mode (-T: it
# prints what it got and changes nothing), with its own mount namespace
# so it writes nothing under the host's /var/lib/dhcpcd or /run.
check_dhcp_stateless_dhcpcd() {
    local name=dhcpv6-stateless-dhcpcd out
    if ! command -v dhcpcd >/dev/null; then
        fail "$name" "dhcpcd is not installed (scripts/install-deps.sh installs dhcpcd-base)"
        return
    fi
    out=$(timeout 20 ip netns exec "$NS_VM" unshare -m sh -c '
        mount -t tmpfs none /run && mkdir -p /run/dhcpcd && mount -t tmpfs none /var/lib &&
        exec dhcpcd -6 -T --inform6 -t 10 -f /dev/null vm0' 2>&1) || true
    if grep -qE "new_dhcp6_name_servers='?$DNS6" <<<"$out" &&
        grep -qE "new_dhcp6_domain_search='?openstacklocal" <<<"$out"; then
        pass "$name (dhcpcd --inform6: DNS $DNS6, search openstacklocal)"
    else
        fail "$name" "dhcpcd did not report the DNS server and search list: $(grep -iE 'dhcp6|inform|error|timed' <<<"$out" | head -n 4 | tr '\n' ' ')"
    fi
}

check_dhcp_stateful() {
    local name=dhcpv6-stateful addr
    dhcp_hook
    if ! ctl apply "$LAB_DIR/stateful.toml" >/dev/null 2>&1; then
        fail "$name-pool" "ctl apply stateful.toml failed"
        return
    fi
    dhclient_run
    if ! wait_until 15 "dhclient -6 to be bound" event_with "reason=BOUND6 addr=2001:db8:cafe::1[0-9a-f]{2} "; then
        fail "$name-pool" "no pool address: $(tail -n 3 "$LAB_DIR/dhclient.log" | tr '\n' ' ')"
        dhclient_stop
        return
    fi
    addr=$(grep -m 1 -oE 'reason=BOUND6 addr=[^ ]+' "$LAB_DIR/dhclient.events")
    addr=${addr##*addr=}
    if ! grep -q 'option dhcp6.server-id 0:3:0:1:fa:16:3e:11:11:1;' "$LAB_DIR/dhclient.leases" 2>/dev/null; then
        fail "$name-pool" "the server identifier is not the DUID-LL of qr0 ($MAC_QR0): $(grep server-id "$LAB_DIR/dhclient.leases" 2>/dev/null | head -n 1)"
    elif lease_listed "$addr"; then
        pass "$name-pool ($addr from the pool 2001:db8:cafe::100-1ff, server DUID-LL of qr0, listed by ctl show leases)"
    else
        fail "$name-pool" "bound to $addr but ctl show leases does not list it"
    fi
    # T1 is 4 s in the lab config.
    if wait_until 15 "a renewal" event_with "reason=RENEW6 addr=$addr "; then
        pass "$name-renew (RENEW6 kept $addr)"
    else
        fail "$name-renew" "no RENEW6 for $addr within 15 s: $(tail -n 3 "$LAB_DIR/dhclient.events" | tr '\n' ' ')"
    fi
    # Release: dhclient -r sends it and stops the running client.
    timeout 10 ip netns exec "$NS_VM" dhclient -6 -r -v -lf "$LAB_DIR/dhclient.leases" \
        -pf "$LAB_DIR/dhclient.pid" -sf "$DHCP_HOOK" vm0 >>"$LAB_DIR/dhclient.log" 2>&1 || true
    if wait_until 10 "the lease of $addr to end" lease_gone "$addr"; then
        pass "$name-release ($addr released, gone from ctl show leases)"
    else
        fail "$name-release" "ctl show leases still lists $addr after dhclient -r"
    fi
    dhclient_stop

    name=dhcpv6-stateful-reservation
    dhcp_hook
    if ! ctl apply "$LAB_DIR/stateful-reserved.toml" >/dev/null 2>&1; then
        fail "$name" "ctl apply stateful-reserved.toml failed"
        return
    fi
    dhclient_run
    if wait_until 15 "dhclient -6 to be bound" event_with "reason=BOUND6 addr=2001:db8:cafe::4 "; then
        pass "$name (the port's fixed_ips 2001:db8:cafe::4 for MAC $MAC_VM0)"
    else
        fail "$name" "want 2001:db8:cafe::4: $(tail -n 2 "$LAB_DIR/dhclient.events" | tr '\n' ' ')"
    fi
    dhclient_stop
}

# PD server: the VM is a requesting router (dhclient -6 -P); the router
# installs a route to the delegated prefix via the VM's link-local
# address, so the external host reaches an address inside it.
check_pd_server() {
    local name=dhcpv6-pd-server prefix target why
    dhcp_hook
    if ! ctl apply "$LAB_DIR/pd-server.toml" >/dev/null 2>&1; then
        fail "$name" "ctl apply pd-server.toml failed"
        return
    fi
    dhclient_run -P
    if ! wait_until 15 "a delegated prefix" event_with "prefix=2001:db8:cafe:f[0-9a-f]{3}::/64"; then
        fail "$name" "dhclient -6 -P got no prefix: $(tail -n 3 "$LAB_DIR/dhclient.log" | tr '\n' ' ')"
        dhclient_stop
        return
    fi
    prefix=$(grep -m 1 -oE 'prefix=2001:db8:cafe:f[0-9a-f]{3}::/64' "$LAB_DIR/dhclient.events")
    prefix=${prefix#prefix=}
    target=${prefix%/64}1
    ip -n "$NS_VM" addr add "$target/128" dev lo
    if why=$(ping_ok "$NS_EXT" 6 "$target"); then
        pass "$name (dhclient -P got $prefix; the external host reaches $target inside it, $why of 3)"
    else
        fail "$name" "delegated $prefix, but $target is unreachable from the external host (${why:-ping failed}); routes: $(ctl show routes 2>&1 | grep -F "${prefix%%::*}" | tr '\n' ' ')"
    fi
    ip -n "$NS_VM" addr del "$target/128" dev lo 2>/dev/null || true
    dhclient_stop
    ctl apply "$LAB_DIR/slaac.toml" >/dev/null 2>&1 || true
}

# The crash: scripted clients are being served when routelet is killed;
# after a restart on the same state directory every acknowledged lease is
# there, renewals keep their addresses, no address has two clients.
check_dhcp_crash() {
    local name=dhcpv6-crash-no-lease-lost clients=$LAB_DIR/crash-clients acked out
    if ! ctl apply "$LAB_DIR/stateful.toml" >/dev/null 2>&1; then
        fail "$name" "ctl apply stateful.toml failed"
        return
    fi
    rm -f "$clients".*
    # The client population kills routelet (SIGKILL, by its PID) right
    # after the 20th acknowledgement, with the next exchange in flight; the
    # last 20 clients then find no server.
    timeout 60 ip netns exec "$NS_VM" /usr/bin/python3 "$LAB_REPO/scripts/lib/dhcp6_clients.py" \
        lease vm0 40 "$clients.acked.json" --kill-after 20 "$LAB_ROUTELET_PID" >"$clients.log" 2>&1 || true
    wait "$LAB_ROUTELET_PID" 2>/dev/null || true
    sed -i "/^pid $LAB_ROUTELET_PID /d" "$LAB_STATE"
    LAB_ROUTELET_PID=
    acked=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$clients.acked.json" 2>/dev/null) || acked=0
    lab_routelet_start "${WORKERS:-}"
    ctl apply "$LAB_DIR/stateful.toml" >/dev/null 2>&1 || true
    ctl --json show leases >"$clients.listed.json" 2>/dev/null || true
    timeout 60 ip netns exec "$NS_VM" /usr/bin/python3 "$LAB_REPO/scripts/lib/dhcp6_clients.py" \
        renew vm0 "$clients.acked.json" "$clients.renewed.json" >>"$clients.log" 2>&1 || true
    if out=$(/usr/bin/python3 - "$clients.acked.json" "$clients.listed.json" "$clients.renewed.json" <<'EOF'
import json, sys
acked = json.load(open(sys.argv[1]))
rows = json.load(open(sys.argv[2]))
rows = rows.get("data", rows) if isinstance(rows, dict) else rows
listed = {r["duid"].replace(":", ""): r["address"] for r in rows if r["state"] == "bound"}
renewed = json.load(open(sys.argv[3]))
lost = [d for d, a in acked.items() if listed.get(d) != a]
moved = [d for d, a in acked.items() if renewed.get(d) != a]
addrs = [r["address"] for r in rows]
dup = len(addrs) != len(set(addrs))
if acked and not lost and not moved and not dup:
    print(f"SIGKILL after {len(acked)} acknowledged leases with the next exchange in flight; after restart all {len(acked)} listed, all renewed to the same address, no address twice")
    sys.exit(0)
print(f"acked {len(acked)}, lost {len(lost)}, renewed elsewhere {len(moved)}, duplicate addresses {dup}")
sys.exit(1)
EOF
    ); then
        pass "$name ($out)"
    else
        fail "$name" "$out; $(tail -n 2 "$clients.log" | tr '\n' ' ')"
    fi
    ctl apply "$LAB_DIR/slaac.toml" >/dev/null 2>&1 || true
}

run_dhcp_checks() {
    if ! command -v dhclient >/dev/null; then
        fail dhcpv6 "dhclient is not installed (scripts/install-deps.sh installs isc-dhcp-client)"
        return
    fi
    check_dhcp_stateless
    check_dhcp_stateful
    check_pd_server
    check_dhcp_crash
    check_pd_client
}

# vm_global_in PREFIX [deprecated]: the VM's address inside PREFIX (a
# text prefix such as 2001:db8:face:), preferred or, with "deprecated",
# deprecated.
vm_global_in() {
    local want=${2:-preferred} addrs
    addrs=$(ip -n "$NS_VM" -6 addr show dev vm0 scope global)
    if [[ $want == deprecated ]]; then
        grep -oE "inet6 $1[0-9a-f:]*/64 .*deprecated" <<<"$addrs" | head -n 1 | awk '{print $2}' | cut -d/ -f1
    else
        grep -E "inet6 $1" <<<"$addrs" | grep -v deprecated | head -n 1 | awk '{print $2}' | cut -d/ -f1
    fi
}
vm_has_global_in() { [[ -n $(vm_global_in "$@") ]]; }

# upstream_dibbler POOL: dibbler-server on the external host delegating
# /64s of POOL (T1 5 s, T2 8 s), with private copies of its fixed paths.
upstream_dibbler() {
    local dir=$LAB_DIR/dibbler
    rm -rf "$dir" && mkdir -p "$dir/etc" "$dir/var"
    cat >"$dir/etc/server.conf" <<CONF
log-level 7
iface "ext0" {
  pd-class {
    pd-pool $1
    pd-length 64
    T1 5
    T2 8
    prefered-lifetime 30
    valid-lifetime 60
  }
}
CONF
    ip netns exec "$NS_EXT" unshare -m sh -c "mount --bind '$dir/etc' /etc/dibbler && mount --bind '$dir/var' /var/lib/dibbler && exec dibbler-server run" >>"$dir.log" 2>&1 &
    UPSTREAM_PID=$!
    lab_track "$UPSTREAM_PID" dibbler-server
}

# upstream_kea POOL: kea-dhcp6 on the external host delegating /64s of
# POOL (a /48), its lease file and pid/lock files under LAB_DIR.
upstream_kea() {
    local dir=$LAB_DIR/kea
    rm -rf "$dir" && mkdir -p "$dir"
    cat >"$dir/kea-dhcp6.json" <<CONF
{ "Dhcp6": {
    "interfaces-config": { "interfaces": [ "ext0" ] },
    "data-directory": "$dir",
    "lease-database": { "type": "memfile", "persist": true, "name": "$dir/leases6.csv", "lfc-interval": 0 },
    "renew-timer": 5, "rebind-timer": 8, "preferred-lifetime": 30, "valid-lifetime": 60,
    "subnet6": [ { "subnet": "2001:db8:cafe:17::/64", "interface": "ext0",
        "pd-pools": [ { "prefix": "${1%/48}", "prefix-len": 48, "delegated-len": 64 } ] } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "INFO", "output_options": [ { "output": "$dir/kea.log" } ] } ]
} }
CONF
    KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir ip netns exec "$NS_EXT" kea-dhcp6 -c "$dir/kea-dhcp6.json" >>"$dir.log" 2>&1 &
    UPSTREAM_PID=$!
    lab_track "$UPSTREAM_PID" kea-dhcp6
}

upstream_stop() {
    [[ -n ${UPSTREAM_PID:-} ]] || return 0
    kill -TERM "$UPSTREAM_PID" 2>/dev/null || true
    wait "$UPSTREAM_PID" 2>/dev/null || true
    sed -i "/^pid $UPSTREAM_PID /d" "$LAB_STATE"
    UPSTREAM_PID=
}

# pd_client_from SERVER POOL TEXTPREFIX: routelet (restarted with
# pd-client.toml and no PD state) gets a /64 of POOL from SERVER; the
# VM forms an address in it from routelet's RA and pings the external
# host from it.
pd_client_from() {
    local server=$1 pool=$2 text=$3 name=dhcpv6-pd-client-$1 addr why
    ip -n "$NS_EXT" -6 route replace "$pool" via "$RT_EXT6" dev ext0
    "upstream_$server" "$pool"
    lab_routelet_stop >/dev/null 2>&1 || true
    rm -f "$LAB_DIR/state.d/pd-client.json"
    LAB_CONFIG=pd-client lab_routelet_start "${WORKERS:-}"
    if ! wait_until 25 "a VM address in $pool" vm_has_global_in "$text"; then
        fail "$name" "the VM formed no address in $pool: $(ctl show interfaces 2>&1 | grep qr0 | tr -s ' ')"
        return 1
    fi
    addr=$(vm_global_in "$text")
    wait_until 10 "$addr to leave DAD" no_tentative "$NS_VM" || true
    local shown
    shown=$(ctl show subnets 2>&1 | grep -oE "\(from $text[0-9a-f:]*/64, preferred [^,]+, valid [^)]+\)" | head -n 1)
    if [[ -z $shown ]]; then
        fail "$name" "ctl show subnets does not say where lab-pd's prefix came from: $(ctl show subnets 2>&1 | grep lab-pd | tr -s ' ')"
        return 1
    fi
    if why=$(ping_ok "$NS_VM" 6 "$EXT6" -I "$addr"); then
        pass "$name ($server delegated a /64 of $pool, show subnets: $shown; the VM formed $addr from routelet's RA and pings $EXT6 from it, $why of 3)"
    else
        fail "$name" "the VM has $addr but cannot ping $EXT6 from it (${why:-ping failed})"
        return 1
    fi
}

check_pd_client() {
    local old new
    if ! command -v dibbler-server >/dev/null || ! command -v kea-dhcp6 >/dev/null; then
        fail dhcpv6-pd-client "dibbler-server or kea-dhcp6 missing (scripts/install-deps.sh installs them)"
        return
    fi
    if pd_client_from dibbler 2001:db8:face::/48 2001:db8:face:; then
        # Renumbering: the upstream now delegates from another pool (a
        # fresh server knows no binding); at T1 the client learns it, the
        # VM sees the old prefix deprecated and uses the new one.
        old=$(vm_global_in 2001:db8:face:)
        upstream_stop
        ip -n "$NS_EXT" -6 route replace 2001:db8:fade::/48 via "$RT_EXT6" dev ext0
        upstream_dibbler 2001:db8:fade::/48
        if wait_until 40 "a VM address in 2001:db8:fade::/48" vm_has_global_in 2001:db8:fade: &&
            wait_until 10 "$old deprecated" vm_has_global_in 2001:db8:face: deprecated; then
            new=$(vm_global_in 2001:db8:fade:)
            wait_until 10 "$new to leave DAD" no_tentative "$NS_VM" || true
            if why=$(ping_ok "$NS_VM" 6 "$EXT6" -I "$new"); then
                pass "dhcpv6-pd-renumbering ($old deprecated, preferred lifetime 0; $new from the new prefix pings $EXT6, $why of 3)"
            else
                fail dhcpv6-pd-renumbering "$new does not reach $EXT6 (${why:-ping failed})"
            fi
        else
            fail dhcpv6-pd-renumbering "after the upstream's change: $(ip -n "$NS_VM" -6 addr show dev vm0 scope global | grep inet6 | tr -s ' \n' ' ')"
        fi
    fi
    upstream_stop
    pd_client_from kea 2001:db8:feed::/48 2001:db8:feed: || true
    upstream_stop
    lab_routelet_stop >/dev/null 2>&1 || true
    lab_routelet_start "${WORKERS:-}"
}
