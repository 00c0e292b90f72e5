#!/usr/bin/env python3
"""Merge the client-side frames of a reference scenario's two captures into
one pcapng whose interfaces are named after the router's (qr0, qg0), so that
`routelet replay` receives each frame on the interface it was captured on.

    testdata/tools/merge-client-captures.py SCENARIO
      reads  testdata/pcap/SCENARIO-qr0.pcap and SCENARIO-qg0.pcap
      writes testdata/pcap/SCENARIO-client.pcapng

Frames sent by the reference router (MACs fa:16:3e:11:11:01 and :02) are left
out: routelet produces its own answers. Standard library only.
"""
import struct
import sys
from pathlib import Path

ROUTER_MACS = {bytes.fromhex("fa163e111101"), bytes.fromhex("fa163e111102")}


def read_pcap(path):
    data = path.read_bytes()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        endian, nanos = "<", False
    elif magic == b"\xa1\xb2\xc3\xd4":
        endian, nanos = ">", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        endian, nanos = "<", True
    else:
        raise SystemExit(f"{path}: not a classic pcap")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        ns = sec * 1_000_000_000 + (frac if nanos else frac * 1000)
        yield ns, frame


def block(btype, body):
    pad = (-len(body)) % 4
    length = 12 + len(body) + pad
    return struct.pack("<II", btype, length) + body + b"\0" * pad + struct.pack("<I", length)


def option(code, value):
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def main():
    scenario = sys.argv[1]
    root = Path(__file__).resolve().parents[1] / "pcap"
    frames = []
    for index, iface in enumerate(["qr0", "qg0"]):
        for ns, frame in read_pcap(root / f"{scenario}-{iface}.pcap"):
            if frame[6:12] not in ROUTER_MACS:
                frames.append((ns, index, frame))
    frames.sort(key=lambda f: (f[0], f[1]))
    out = bytearray()
    out += block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(0, b""))
    for name in ["qr0", "qg0"]:
        opts = option(2, name.encode()) + option(9, bytes([9])) + option(0, b"")
        out += block(1, struct.pack("<HHI", 1, 0, 0) + opts)
    for ns, index, frame in frames:
        body = struct.pack("<IIIII", index, ns >> 32, ns & 0xFFFFFFFF, len(frame), len(frame))
        body += frame + b"\0" * ((-len(frame)) % 4)
        out += block(6, body)
    dest = root / f"{scenario}-client.pcapng"
    dest.write_bytes(bytes(out))
    print(f"{dest}: {len(frames)} frames")


if __name__ == "__main__":
    main()
