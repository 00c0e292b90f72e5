"""Sends neighbor solicitations for TARGET out of IFACE through a raw
AF_PACKET socket: the lab's way to load the router's ND path.

  ns_burst.py IFACE MAC SRC TARGET COUNT            # COUNT copies of one NS, as fast as it goes
  ns_burst.py IFACE MAC SRC TARGET COUNT --distinct # from SRC, SRC+1, ... each with its own MAC,
                                                    # paced in bursts of 200 (the router learns each)

Every NS carries a source link-layer option and a correct checksum. Standard
library only; bounded by COUNT.
"""
import ipaddress
import socket
import struct
import sys
import time


def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def neighbor_solicit(mac, src, target):
    """An Ethernet frame: NS from `src` (16 bytes) with SLLA `mac` for `target`."""
    solicited = int(ipaddress.IPv6Address("ff02::1:ff00:0")) | (int.from_bytes(target, "big") & 0xFFFFFF)
    dst = ipaddress.IPv6Address(solicited).packed
    icmp = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + mac
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 255) + src + dst
    return b"\x33\x33" + dst[-4:] + mac + b"\x86\xdd" + ip6 + icmp


def main(argv):
    iface, mac, src, target, count = argv[1:6]
    distinct = "--distinct" in argv[6:]
    mac = bytes.fromhex(mac.replace(":", ""))
    src = int(ipaddress.IPv6Address(src))
    target = ipaddress.IPv6Address(target).packed
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    frame = neighbor_solicit(mac, ipaddress.IPv6Address(src).packed, target)
    for k in range(int(count)):
        if distinct:
            # each source its own MAC (locally administered), as distinct hosts
            smac = bytes([0x02, 0x00]) + struct.pack("!I", k + 1)
            frame = neighbor_solicit(smac, ipaddress.IPv6Address(src + k).packed, target)
        try:
            s.send(frame)
        except OSError:
            pass
        if distinct and k % 200 == 199:
            time.sleep(0.02)


if __name__ == "__main__":
    main(sys.argv)
