#!/usr/bin/env python3
"""Generate testdata/pcap/scan-64.pcapng: an RFC 6583 scan through the router.

On qr0 the tenant VM (fa:16:3e:79:5a:cc, 2001:db8:cafe:0:f816:3eff:fe79:5acc)
first solicits the gateway, which teaches the router its link-layer address.
Then, on qg0, the upstream (fa:16:3e:e0:e0:01, 2001:db8:cafe:17::1) sends
10,000 UDP packets to pseudo-random addresses of the tenant /64, 100 us apart,
and after every tenth one a UDP packet to the VM. The VM's own solicitations
answer the router's probes (an NA every 4 s), as a live host would.
Checksums correct; deterministic; standard library only.
"""
import ipaddress
import struct
from pathlib import Path

VM = bytes.fromhex("fa163e795acc")
QR0 = bytes.fromhex("fa163e111101")
QG0 = bytes.fromhex("fa163e111102")
UP = bytes.fromhex("fa163ee0e001")
VM6 = ipaddress.IPv6Address("2001:db8:cafe:0:f816:3eff:fe79:5acc").packed
GW6 = ipaddress.IPv6Address("2001:db8:cafe::1").packed
UP6 = ipaddress.IPv6Address("2001:db8:cafe:17::1").packed


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip6(src_mac, dst_mac, src, dst, nh, hlim, payload):
    hdr = struct.pack("!IHBB", 0x60000000, len(payload), nh, hlim) + src + dst
    return dst_mac + src_mac + b"\x86\xdd" + hdr + payload


def with_csum(src, dst, nh, body, at):
    pseudo = src + dst + struct.pack("!I3xB", len(body), nh)
    c = csum(pseudo + body) or (0xFFFF if nh == 17 else 0)
    return body[:at] + struct.pack("!H", c) + body[at + 2:]


def udp(src, dst, sport, payload):
    body = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
    return with_csum(src, dst, 17, body, 6)


def solicited(addr):
    return bytes.fromhex("ff0200000000000000000001ff") + addr[13:]


def ns_from_vm():
    body = struct.pack("!BBHI", 135, 0, 0, 0) + GW6 + bytes([1, 1]) + VM
    group = solicited(GW6)
    body = with_csum(VM6, group, 58, body, 2)
    return ip6(VM, b"\x33\x33" + group[12:], VM6, group, 58, 255, body)


def na_from_vm():
    dst = GW6
    body = struct.pack("!BBHI", 136, 0, 0, 0x60000000) + VM6 + bytes([2, 1]) + VM
    body = with_csum(VM6, dst, 58, body, 2)
    return ip6(VM, QR0, VM6, dst, 58, 255, body)


def main():
    records = []  # (nanoseconds, interface index, frame)
    t = 1_700_000_000 * 10**9
    records.append((t, 0, ns_from_vm()))
    x = 0x9E3779B97F4A7C15
    for i in range(10_000):
        t += 100_000
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        target = (0x20010DB8CAFE0000 << 64 | x).to_bytes(16, "big")
        records.append((t, 1, ip6(UP, QG0, UP6, target, 17, 64, udp(UP6, target, 40000, b"scan"))))
        if i % 10 == 0:
            records.append((t + 1, 1, ip6(UP, QG0, UP6, VM6, 17, 64, udp(UP6, VM6, 50000, b"live"))))
        if i % 40 == 39:
            # The VM confirms reachability now and then, as a live host
            # answering the router's probes would.
            records.append((t + 2, 0, na_from_vm()))

    def block(btype, body):
        pad = (-len(body)) % 4
        n = 12 + len(body) + pad
        return struct.pack("<II", btype, n) + body + b"\0" * pad + struct.pack("<I", n)

    def opt(code, value):
        return struct.pack("<HH", code, len(value)) + value + b"\0" * ((-len(value)) % 4)

    out = bytearray(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    for name in (b"qr0", b"qg0"):
        out += block(1, struct.pack("<HHI", 1, 0, 0) + opt(2, name) + opt(9, b"\x09") + opt(0, b""))
    for ns, idx, f in records:
        body = struct.pack("<IIIII", idx, ns >> 32, ns & 0xFFFFFFFF, len(f), len(f)) + f
        out += block(6, body + b"\0" * ((-len(f)) % 4))
    dest = Path(__file__).resolve().parents[1] / "pcap" / "scan-64.pcapng"
    dest.write_bytes(bytes(out))
    print(f"{dest}: {len(records)} frames, {len(out)} bytes")


if __name__ == "__main__":
    main()
