#!/usr/bin/env python3
"""Generate testdata/pcap/bench-udp64.pcap: the forwarding bench's input.

First the upstream's answers that resolve it on qg0 (an NA for
2001:db8:cafe:17::1 and an ARP reply for 203.0.113.1, both from
fa:16:3e:e0:e0:01), then 64 IPv6 and 64 IPv4 UDP frames of exactly 64 bytes
from the tenant VM (fa:16:3e:79:5a:cc): IPv6 to 64 addresses behind the
upstream (2001:db8:beef::/48 via the default route), IPv4 to the upstream
203.0.113.1 itself with 64 source ports (flows differ, as on a real link). Checksums are correct. Standard library only; deterministic.
"""
import struct
from pathlib import Path

VM = bytes.fromhex("fa163e795acc")
QR0 = bytes.fromhex("fa163e111101")
QG0 = bytes.fromhex("fa163e111102")
UP = bytes.fromhex("fa163ee0e001")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def v6(addr):
    import ipaddress
    return ipaddress.IPv6Address(addr).packed


def v4(addr):
    import ipaddress
    return ipaddress.IPv4Address(addr).packed


def udp6(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!I3xB", length, 17)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, length, c) + payload
    ip = struct.pack("!IHBB", 0x60000000, length, 17, 64) + src + dst
    return VM_TO(QR0) + b"\x86\xdd" + ip + udp


def VM_TO(dst_mac):
    return dst_mac + VM


def udp4(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, length)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, length, c) + payload
    total = 20 + length
    ip = struct.pack("!BBHHHBBH", 0x45, 0, total, 0, 0x4000, 64, 17, 0) + src + dst
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return QR0 + VM + b"\x08\x00" + ip + udp


def na():
    target = v6("2001:db8:cafe:17::1")
    dst = v6("2001:db8:cafe:17::66")
    body = struct.pack("!BBHI", 136, 0, 0, 0x60000000) + target + bytes([2, 1]) + UP
    pseudo = target + dst + struct.pack("!I3xB", len(body), 58)
    c = csum(pseudo + body)
    body = body[:2] + struct.pack("!H", c) + body[4:]
    ip = struct.pack("!IHBB", 0x60000000, len(body), 58, 255) + target + dst
    return QG0 + UP + b"\x86\xdd" + ip + body


def arp_reply():
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + UP + v4("203.0.113.1") + QG0 + v4("203.0.113.102")
    return QG0 + UP + b"\x08\x06" + arp + b"\0" * 18


def main():
    frames = [na(), arp_reply()]
    src6 = v6("2001:db8:cafe:0:f816:3eff:fe79:5acc")
    for i in range(64):
        dst = v6(f"2001:db8:beef::{i + 1:x}")
        frames.append(udp6(src6, dst, 40000 + i, 5001 + (i % 7), b"\xa5\x5a"))
    src4 = v4("198.51.100.4")
    # IPv4 is limited to 198.51.100.0/24 and 203.0.113.0/24, both connected
    # here: the IPv4 flows all go to the upstream itself (flows differ by port).
    for i in range(64):
        dst = v4("203.0.113.1")
        frames.append(udp4(src4, dst, 40000 + i, 5001 + (i % 7), bytes(22)))
    for f in frames[2:]:
        assert len(f) == 64, len(f)
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for n, f in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000, n, len(f), len(f)) + f
    dest = Path(__file__).resolve().parents[1] / "pcap" / "bench-udp64.pcap"
    dest.write_bytes(bytes(out))
    print(f"{dest}: {len(frames)} frames")


if __name__ == "__main__":
    main()
