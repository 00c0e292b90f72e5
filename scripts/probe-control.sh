#!/usr/bin/env bash
# probe-control.sh: can the control socket starve or slow the router?
#
# Usage (as root):  scripts/probe-control.sh
#   ROUTELET_BIN=PATH  use that binary as is (no build), as the lab does
#   ABUSE_SECS=N       length of the abuse (default 20, at most 60)
#   NEIGHBORS=N        neighbor entries to fill the table with (default 4096)
#
# Steps:
#  1. the netns lab (scripts/lib/lab.sh) with routelet as the router and
#     testdata/lab/slaac.toml; the neighbor table is filled from the VM
#     (NS with distinct sources and a source link-layer option, bounded);
#  2. baseline: ping -6 and ping -4 -c 300 -i 0.01 VM -> external host
#     through the router: p50 / p99 / max RTT of the replies;
#  3. abuse in the router namespace for ABUSE_SECS, against the control
#     socket, from separate processes (SO_PEERCRED peers): 32 idle
#     connections held open (reconnected when closed), 16 clients that send
#     `show neighbors` / `show stats` and never read, a connect/close flood
#     (bounded count); meanwhile `routelet ctl status` 25 times (successes
#     counted), the same pings, routelet's VmRSS sampled, its log measured;
#  4. teardown (the lab's EXIT trap), a summary table; exit 1 if `ctl
#     status` succeeded fewer than 25 times or the router died, else 0.
#
# Addresses: the lab's plan only (2001:db8::/32, 198.51.100.0/24,
# 203.0.113.0/24); all traffic stays inside this run's namespaces. Every
# loop is bounded in count and time; processes are stopped by their PID.
set -euo pipefail

# shellcheck source=scripts/lib/lab.sh
source "$(dirname "$0")/lib/lab.sh"

ABUSE_SECS=${ABUSE_SECS:-20}
NEIGHBORS=${NEIGHBORS:-4096}
# The abuse's shape: idle holders, non-reading `show` clients, flooders
# (one process each), and the non-readers' pipelining: a new request every
# NONREAD_REPEAT seconds on the same connection (0: one request per
# connection, then silence).
IDLE_CLIENTS=${IDLE_CLIENTS:-32}
NONREAD_CLIENTS=${NONREAD_CLIENTS:-16}
FLOOD_CLIENTS=${FLOOD_CLIENTS:-2}
NONREAD_REPEAT=${NONREAD_REPEAT:-0.5}
# RECONNECT=1: idle and non-reading clients open a new connection (50 ms
# later) whenever the router closes theirs; 0 (default): a connection the
# router closed stays closed, as "held open" abuse.
RECONNECT=${RECONNECT:-0}
[[ $RECONNECT == 0 || $RECONNECT == 1 ]] || lab_die "RECONNECT must be 0 or 1"
for v in IDLE_CLIENTS NONREAD_CLIENTS FLOOD_CLIENTS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} <= 64)) || lab_die "$v must be 0..64"
done
[[ $NONREAD_REPEAT =~ ^[0-9]+(\.[0-9]+)?$ ]] || lab_die "NONREAD_REPEAT must be a number of seconds"
[[ $ABUSE_SECS =~ ^[0-9]+$ ]] && ((ABUSE_SECS >= 5 && ABUSE_SECS <= 60)) ||
    lab_die "ABUSE_SECS must be 5..60"
[[ $NEIGHBORS =~ ^[0-9]+$ ]] && ((NEIGHBORS <= 65536)) || lab_die "NEIGHBORS must be 0..65536"
PY=/usr/bin/python3
STATUS_TRIES=25

log() { printf '[probe] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- pings --

# ping_stats NS FAMILY DEST OUTFILE: 300 pings at 10 ms; writes
# "sent received p50 p99 max" (ms) to OUTFILE.
ping_stats() {
    local ns=$1 fam=$2 dst=$3 out=$4 raw
    raw=$(timeout 30 ip netns exec "$ns" ping "-$fam" -n -c 300 -i 0.01 -W 1 "$dst" 2>&1) || true
    awk '
        /bytes from .* time=/ {
            for (i = 1; i <= NF; i++) if ($i ~ /^time=/) { t = substr($i, 6); print t }
        }' <<<"$raw" | sort -g | awk '
        { v[NR] = $1 }
        END {
            n = NR
            if (n == 0) { print "300 0 - - -"; exit }
            i50 = int(0.50 * n + 0.999999); if (i50 < 1) i50 = 1
            i99 = int(0.99 * n + 0.999999); if (i99 < 1) i99 = 1
            printf "300 %d %.3f %.3f %.3f\n", n, v[i50], v[i99], v[n]
        }' >"$out"
}

# pings_both OUTPREFIX: v6 and v4 at once (as the forwarding sees them
# under load), results in OUTPREFIX.v6 / .v4.
pings_both() {
    ping_stats "$NS_VM" 6 "$EXT6" "$1.v6" &
    local p6=$!
    ping_stats "$NS_VM" 4 "$EXT4" "$1.v4" &
    local p4=$!
    wait "$p6" "$p4" || true
}

# ------------------------------------------------------------------ RSS --

rss_kb() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$LAB_ROUTELET_PID/status" 2>/dev/null || echo 0
}

# rss_sampler SECS OUTFILE: max VmRSS every 0.1 s for SECS (bounded).
rss_sampler() {
    local secs=$1 out=$2 max=0 r i n
    n=$((secs * 10))
    for ((i = 0; i < n; i++)); do
        r=$(rss_kb)
        [[ -n $r ]] && ((r > max)) && max=$r
        echo "$max" >"$out"
        sleep 0.1
    done
}

# ----------------------------------------------------------- neighbors --

# fill_neighbors N: N neighbor solicitations for the gateway from distinct
# addresses 2001:db8:cafe::1:0/112.. with a source link-layer option: the
# router learns each as a STALE entry. Paced (bursts of 200) so the
# ND socket's ring keeps up; bounded by count and `timeout`.
fill_neighbors() {
    local n=$1
    ((n > 0)) || return 0
    # From 2001:db8:cafe::1:0 on, each source with its own MAC.
    timeout 60 ip netns exec "$NS_VM" "$PY" "$LAB_REPO/scripts/lib/ns_burst.py" \
        vm0 "$MAC_VM0" 2001:db8:cafe::1:0 "$GW6" "$n" --distinct || true
}

neighbor_count() {
    ctl --json show neighbors 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
rows = d.get("data", d) if isinstance(d, dict) else d
if isinstance(rows, dict):
    rows = rows.get("neighbors", rows.get("entries", []))
print(len(rows))' 2>/dev/null || echo "?"
}

# ---------------------------------------------------------------- abuse --

# The abuser: forks one process per client (so each is its own peer for the
# server's per-peer quota), runs for SECS, prints one JSON summary line.
ABUSER=$(
    cat <<'PY'
import json, os, socket, sys, time, select

path, secs = sys.argv[1], float(sys.argv[2])
IDLE, NONREAD, FLOOD = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
REPEAT = float(sys.argv[6])  # s between pipelined requests; 0: one per connection
RECONNECT = sys.argv[7] == "1"
FLOOD_MAX = 50000
t_end = time.monotonic() + secs

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    s.connect(path)
    return s

def closed_by_peer(s):
    # Without reading any reply byte: POLLHUP/POLLERR (or RDHUP) only.
    p = select.poll()
    p.register(s, select.POLLHUP | select.POLLERR | 0x2000)  # POLLRDHUP
    return any(ev & (select.POLLHUP | select.POLLERR | 0x2000) for _, ev in p.poll(0))

def idle(w):
    st = {"connects": 0, "closed_by_server": 0, "errors": 0}
    s = None
    while time.monotonic() < t_end:
        if s is None:
            if st["connects"] and not RECONNECT:
                time.sleep(0.1); continue
            try:
                s = connect(); st["connects"] += 1
            except OSError:
                st["errors"] += 1; time.sleep(0.1); continue
        if closed_by_peer(s):
            st["closed_by_server"] += 1
            s.close(); s = None
            time.sleep(0.05)
            continue
        time.sleep(0.1)
    return st

def nonread(w):
    st = {"connects": 0, "requests": 0, "closed_by_server": 0, "errors": 0}
    what = "neighbors" if w % 2 == 0 else "stats"
    req = (json.dumps({"cmd": "show", "what": what}) + "\n").encode()
    s = None
    last = 0.0
    while time.monotonic() < t_end:
        if s is None:
            if st["connects"] and not RECONNECT:
                time.sleep(0.1); continue
            try:
                s = connect()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                st["connects"] += 1
                last = 0.0
            except OSError:
                st["errors"] += 1; time.sleep(0.1); continue
        if closed_by_peer(s):
            st["closed_by_server"] += 1
            s.close(); s = None
            time.sleep(0.05)
            continue
        now = time.monotonic()
        if (REPEAT > 0 and now - last >= REPEAT) or (REPEAT == 0 and last == 0.0):
            try:
                s.setblocking(False)
                s.send(req)  # pipelined requests; replies never read
                st["requests"] += 1
                last = now
            except BlockingIOError:
                last = now
            except OSError:
                st["closed_by_server"] += 1
                s.close(); s = None
                time.sleep(0.05)
                continue
        time.sleep(0.05)
    return st

def flood(w):
    st = {"connects": 0, "errors": 0}
    n = 0
    while time.monotonic() < t_end and n < FLOOD_MAX:
        n += 1
        try:
            s = connect(); st["connects"] += 1; s.close()
        except OSError:
            st["errors"] += 1
            time.sleep(0.001)
    return st

roles = [("nonread", nonread, i) for i in range(NONREAD)] + \
        [("idle", idle, i) for i in range(IDLE)] + \
        [("flood", flood, i) for i in range(FLOOD)]
kids = []
for name, fn, i in roles:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = fn(i)
        except Exception as e:
            res = {"exception": repr(e)}
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    kids.append((name, pid, r))
total = {}
for name, pid, r in kids:
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    try:
        res = json.loads(data or b"{}")
    except ValueError:
        res = {"bad": 1}
    agg = total.setdefault(name, {})
    for k, v in res.items():
        if isinstance(v, int):
            agg[k] = agg.get(k, 0) + v
        else:
            agg[k] = v
print(json.dumps(total))
PY
)

# ----------------------------------------------------------------- main --

main() {
    lab_require_root
    [[ -x $PY ]] || lab_die "$PY missing"
    lab_init ""
    lab_traps
    lab_up
    local out=$LAB_DIR/probe
    mkdir -p "$out"

    log "filling the neighbor table: $NEIGHBORS NS from distinct sources"
    fill_neighbors "$NEIGHBORS"
    sleep 1
    local nb
    nb=$(neighbor_count)
    log "routelet lists $nb neighbors"

    log "baseline pings (v6 and v4, 300 each at 10 ms)"
    # warm the router's neighbor entries for the VM and the external host
    timeout 10 ip netns exec "$NS_VM" ping -6 -n -c 2 -i 0.2 -W 1 "$EXT6" >/dev/null 2>&1 || true
    timeout 10 ip netns exec "$NS_VM" ping -4 -n -c 2 -i 0.2 -W 1 "$EXT4" >/dev/null 2>&1 || true
    pings_both "$out/base"
    local rss_before
    rss_before=$(rss_kb)

    log "abuse for ${ABUSE_SECS}s: $IDLE_CLIENTS idle, $NONREAD_CLIENTS non-reading show clients (a request every ${NONREAD_REPEAT}s; 0: once), $FLOOD_CLIENTS connect/close flooders"
    local log_before log_after
    log_before=$(stat -c %s "$LAB_LOG")
    timeout $((ABUSE_SECS + 15)) ip netns exec "$NS_RT" "$PY" -c "$ABUSER" "$LAB_SOCK" "$ABUSE_SECS" \
        "$IDLE_CLIENTS" "$NONREAD_CLIENTS" "$FLOOD_CLIENTS" "$NONREAD_REPEAT" "$RECONNECT" >"$out/abuse.json" 2>"$out/abuse.err" &
    local abuser=$!
    lab_track "$abuser" abuser
    rss_sampler "$ABUSE_SECS" "$out/rss_max" &
    local sampler=$!
    lab_track "$sampler" rss-sampler
    sleep 2

    # pings under abuse, in the background while ctl status runs
    pings_both "$out/abuse" &
    local pinger=$!
    lab_track "$pinger" pings

    local ok=0 i t0 t1 ms maxms=0 fails=()
    local interval_ms=$(((ABUSE_SECS - 4) * 1000 / STATUS_TRIES))
    for ((i = 1; i <= STATUS_TRIES; i++)); do
        t0=$(date +%s%N)
        if timeout 15 ip netns exec "$NS_RT" "$LAB_BIN" ctl --socket "$LAB_SOCK" status \
            >"$out/status.$i" 2>&1; then
            ok=$((ok + 1))
        else
            fails+=("#$i: $(tr '\n' ' ' <"$out/status.$i" | cut -c1-160)")
        fi
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        ((ms > maxms)) && maxms=$ms
        ((ms < interval_ms)) && sleep "$(awk -v s=$((interval_ms - ms)) 'BEGIN { printf "%.3f", s / 1000 }')"
    done
    wait "$pinger" || true
    wait "$abuser" || true
    wait "$sampler" || true
    sleep 1
    log_after=$(stat -c %s "$LAB_LOG")

    local alive_after=no
    if alive "$LAB_ROUTELET_PID" && ctl status >"$out/status.after" 2>&1; then
        alive_after=yes
    fi
    sleep 2
    local rss_after rss_max
    rss_after=$(rss_kb)
    rss_max=$(cat "$out/rss_max" 2>/dev/null || echo 0)
    local control_line
    control_line=$(grep -m1 -i '^control' "$out/status.after" 2>/dev/null || true)
    # a final look after the server's 10 s timeouts have run out
    local rss_later=-
    if [[ $alive_after == yes ]]; then
        sleep 9
        rss_later=$(rss_kb)
    fi

    # ------------------------------------------------------- summary --
    local b6 b4 a6 a4
    read -r _ b6r b6p50 b6p99 b6max <"$out/base.v6"
    read -r _ b4r b4p50 b4p99 b4max <"$out/base.v4"
    read -r _ a6r a6p50 a6p99 a6max <"$out/abuse.v6"
    read -r _ a4r a4p50 a4p99 a4max <"$out/abuse.v4"
    {
        echo
        echo "=== probe-control summary (routelet $("$LAB_BIN" --version 2>/dev/null | head -n1), run $LAB_ID, abuse ${ABUSE_SECS}s: $IDLE_CLIENTS idle / $NONREAD_CLIENTS non-reading (repeat ${NONREAD_REPEAT}s) / $FLOOD_CLIENTS flood, reconnect $RECONNECT, $nb neighbors)"
        printf '%-34s %-22s %-22s\n' "" "baseline" "under abuse"
        printf '%-34s %-22s %-22s\n' "ping -6 replies of 300" "$b6r" "$a6r"
        printf '%-34s %-22s %-22s\n' "ping -6 p50 / p99 / max (ms)" "$b6p50 / $b6p99 / $b6max" "$a6p50 / $a6p99 / $a6max"
        printf '%-34s %-22s %-22s\n' "ping -4 replies of 300" "$b4r" "$a4r"
        printf '%-34s %-22s %-22s\n' "ping -4 p50 / p99 / max (ms)" "$b4p50 / $b4p99 / $b4max" "$a4p50 / $a4p99 / $a4max"
        printf '%-34s %-22s %-22s\n' "ctl status ok of $STATUS_TRIES" "-" "$ok (slowest ${maxms} ms)"
        printf '%-34s %-22s %-22s\n' "RSS kB before / max / after" "$rss_before" "$rss_max / $rss_after (+9 s: $rss_later)"
        printf '%-34s %-22s %-22s\n' "routelet log bytes" "-" "$((log_after - log_before))"
        printf '%-34s %-22s %-22s\n' "router alive after" "-" "$alive_after"
        echo "abuser: $(cat "$out/abuse.json" 2>/dev/null)"
        [[ -s $out/abuse.err ]] && echo "abuser stderr: $(head -c 400 "$out/abuse.err")"
        [[ -n $control_line ]] && echo "status after: $control_line"
        for f in "${fails[@]:0:3}"; do echo "ctl status failed $f"; done
        if ((${#fails[@]} > 3)); then echo "... and $((${#fails[@]} - 3)) more failures alike"; fi
        if ((${#fails[@]})); then echo "failed attempts (of $STATUS_TRIES, one every ~${interval_ms} ms from t=2 s): $(printf '%s\n' "${fails[@]}" | cut -d: -f1 | tr '\n' ' ')"; fi
        echo "routelet log during abuse:"
        tail -c +$((log_before + 1)) "$LAB_LOG" | head -c 2000 | sed 's/^/    /'
    } | tee "$out/summary.txt"
    cp "$out/summary.txt" "/tmp/probe-control-summary.$LAB_ID.txt" 2>/dev/null || true

    if ((ok < STATUS_TRIES)) || [[ $alive_after != yes ]]; then
        return 1
    fi
    return 0
}

main "$@"
