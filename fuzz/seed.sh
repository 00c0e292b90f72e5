#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from testdata/pcap/*.pcap and examples/*.toml.
#
# Usage: fuzz/seed.sh [--clean]
#   --clean  empty every corpus directory first (otherwise seeds are added
#            next to whatever earlier fuzzing runs saved there).
#
# Seeds are named by the SHA-1 of their content, as libFuzzer names the
# inputs it saves, so running this twice adds nothing. Needs python3 (stdlib
# only): the captures are classic pcap (24-byte global header, 16-byte
# record headers, link type 1 = Ethernet).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
corpus="$here/corpus"

if [[ "${1:-}" == "--clean" ]]; then
    rm -rf "$corpus"
fi

python3 - "$root" "$corpus" <<'PY'
import glob, hashlib, ipaddress, os, struct, sys

root, corpus = sys.argv[1], sys.argv[2]
counts = {}

def put(target, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1

def read_pcap(path):
    """Yields (seconds as float, frame bytes) from a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap")
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, expected 1 (Ethernet)")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        yield sec + frac / (1e9 if nanos else 1e6), frame

# --- V6_ADDRS of fuzz/src/lib.rs, for the ndisc target's selector bytes ---
V6_ADDRS = [ipaddress.IPv6Address(a) for a in (
    "::", "fe80::f816:3eff:fe79:5acc", "fe80::1",
    "2001:db8:cafe:0:f816:3eff:fe79:5acc", "ff02::1", "ff02::2",
    "ff02::1:ff79:5acc", "2001:db8:cafe::1")]

def selector(raw):
    a = ipaddress.IPv6Address(raw)
    if a in V6_ADDRS:
        return V6_ADDRS.index(a)
    if a.is_unspecified:
        return 0
    if a.is_link_local:
        return 2
    if a.is_multicast:
        return 6 if raw[:13] == bytes.fromhex("ff0200000000000000000001ff") else 4
    return 3

def l4_v6(payload, nh):
    """Walks the extension headers RFC 8200 §4 defines; (proto, rest)."""
    for _ in range(8):
        if nh in (0, 43, 60) and len(payload) >= 2:
            n = (payload[1] + 1) * 8
            nh, payload = payload[0], payload[n:]
        elif nh == 44 and len(payload) >= 8:
            if struct.unpack(">H", payload[2:4])[0] & 0xfff8:
                return None, b""          # non-first fragment
            nh, payload = payload[0], payload[8:]
        elif nh == 51 and len(payload) >= 2:
            n = (payload[1] + 2) * 4
            nh, payload = payload[0], payload[n:]
        else:
            break
    return nh, payload

ROUNDTRIP = {"ethernet": 0, "arp": 1, "ipv4": 2, "ipv6": 3, "udp": 4,
             "tcp": 5, "icmpv4": 6, "icmpv6": 7}

def parser_seed(target, data):
    put(target, data)
    put("roundtrip", bytes([ROUNDTRIP[target]]) + data)

def dissect(frame):
    parser_seed("ethernet", frame)
    put("etherparse_oracle", frame)
    off = 12
    ethertype = struct.unpack(">H", frame[off:off + 2])[0] if len(frame) >= 14 else None
    while ethertype in (0x8100, 0x88a8) and len(frame) >= off + 6:
        off += 4
        ethertype = struct.unpack(">H", frame[off:off + 2])[0]
    l3 = frame[off + 2:]
    if ethertype == 0x0806:
        parser_seed("arp", l3)
    elif ethertype == 0x0800 and len(l3) >= 20:
        parser_seed("ipv4", l3)
        ihl = (l3[0] & 0x0f) * 4
        total = struct.unpack(">H", l3[2:4])[0]
        proto, l4 = l3[9], l3[ihl:total]
        if struct.unpack(">H", l3[6:8])[0] & 0x1fff:
            return                      # non-first fragment
        if proto == 1:
            parser_seed("icmpv4", l4)
        elif proto == 6:
            parser_seed("tcp", l4)
        elif proto == 17:
            parser_seed("udp", l4)
    elif ethertype == 0x86dd and len(l3) >= 40:
        parser_seed("ipv6", l3)
        plen = struct.unpack(">H", l3[4:6])[0]
        src, dst, hop = l3[8:24], l3[24:40], l3[7]
        proto, l4 = l4_v6(l3[40:40 + plen], l3[6])
        if proto == 58:
            parser_seed("icmpv6", l4)
            if l4 and 133 <= l4[0] <= 137:
                put("ndisc", bytes([selector(src), selector(dst), hop]) + l4)
        elif proto == 6:
            parser_seed("tcp", l4)
        elif proto == 17:
            parser_seed("udp", l4)
            if len(l4) >= 8 and {546, 547} & set(struct.unpack(">HH", l4[:4])):
                put("dhcpv6", l4[8:])

def record(iface, step, frame):
    frame = frame[:0xffff]
    return bytes([iface]) + struct.pack(">HH", step, len(frame)) + frame

def step_of(dt):
    """pipeline_frame's clock step: ms below 32 s, else seconds (top bit)."""
    ms = int(round(dt * 1000))
    if ms < 0x8000:
        return max(ms, 0)
    return 0x8000 | min(int(dt), 0x7fff)

# pipeline_frame numbers interfaces as examples/dual-stack.toml: qr0, qg0.
IFACES = {"qr0": 0, "qg0": 1}

for path in sorted(glob.glob(os.path.join(root, "testdata", "pcap", "*.pcap"))):
    name = os.path.basename(path)[:-len(".pcap")]
    iface = IFACES.get(name.rsplit("-", 1)[-1], 0)
    whole, prev = b"", None
    for ts, frame in read_pcap(path):
        dissect(frame)
        put("pipeline_frame", record(iface, 0, frame))
        step = 0 if prev is None else step_of(ts - prev)
        prev = ts
        whole += record(iface, step, frame)
    # The whole capture as one input, timing kept: RS -> RA rate limits
    # and periodic RAs need sequences, not single frames.
    put("pipeline_frame", whole)

for path in sorted(glob.glob(os.path.join(root, "examples", "*.toml"))):
    with open(path, "rb") as f:
        put("config_toml", f.read())

for target in sorted(set(list(counts) + os.listdir(corpus))):
    total = len(os.listdir(os.path.join(corpus, target)))
    print(f"{target:16} +{counts.get(target, 0):4} new, {total:5} in corpus/{target}")
PY
