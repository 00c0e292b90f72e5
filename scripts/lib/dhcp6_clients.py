#!/usr/bin/python3
"""A population of scripted DHCPv6 clients (standard library only), for the
lab's crash check and scripts/bench-dhcp.sh.

    dhcp6_clients.py lease IFACE N OUT.json [--kill-after K PID]
        N clients (DUID-LL of a made-up MAC each, IAID 1) do Solicit /
        Advertise / Request / Reply one after another; every address a
        Reply acknowledged is written to OUT.json as {duid_hex: address},
        as it is acknowledged (so a router killed halfway leaves the file
        holding exactly what was acknowledged). With --kill-after, PID gets
        SIGKILL right after the K-th acknowledgement, while the next
        client's Solicit is already on its way: a crash under load.
    dhcp6_clients.py renew IFACE IN.json OUT.json
        every client of IN.json sends a Renew for its address; OUT.json gets
        {duid_hex: address_in_reply}.

Each exchange waits at most 0.5 s per message and retries twice; bounded.
"""
import json
import os
import random
import socket
import struct
import sys
import time

ALL_SERVERS = "ff02::1:2"


def link_local(iface):
    with open("/proc/net/if_inet6") as f:
        for line in f:
            parts = line.split()
            if parts[5] == iface and parts[0].startswith("fe80"):
                h = parts[0]
                return ":".join(h[i:i + 4] for i in range(0, 32, 4))
    sys.exit(f"no link-local address on {iface}")


def opt(code, body):
    return struct.pack("!HH", code, len(body)) + body


def duid_for(k):
    mac = bytes([0x02, 0xd6, (k >> 16) & 0xff, (k >> 8) & 0xff, k & 0xff, 0x01])
    return b"\x00\x03\x00\x01" + mac


def ia_na(iaid, addr=None):
    body = struct.pack("!III", iaid, 0, 0)
    if addr:
        body += opt(5, socket.inet_pton(socket.AF_INET6, addr) + struct.pack("!II", 0, 0))
    return opt(3, body)


def options(data):
    out = []
    while len(data) >= 4:
        code, length = struct.unpack("!HH", data[:4])
        out.append((code, data[4:4 + length]))
        data = data[4 + length:]
    return out


def reply_address(payload):
    for code, body in options(payload[4:]):
        if code == 3 and len(body) >= 12:
            for c2, b2 in options(body[12:]):
                if c2 == 5 and len(b2) >= 24:
                    pl, vl = struct.unpack("!II", b2[16:24])
                    if vl > 0:
                        return socket.inet_ntop(socket.AF_INET6, b2[:16])
    return None


def server_id(payload):
    for code, body in options(payload[4:]):
        if code == 2:
            return body
    return None


def ask(sock, dest, msg_type, body, want_type):
    xid = os.urandom(3)
    packet = bytes([msg_type]) + xid + body
    for _ in range(3):
        sock.sendto(packet, dest)
        deadline = time.monotonic() + 0.5
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, _ = sock.recvfrom(4096)
            except socket.timeout:
                break
            if len(data) >= 4 and data[0] == want_type and data[1:4] == xid:
                return data
    return None


def open_socket(iface):
    ll = link_local(iface)
    scope = socket.if_nametoindex(iface)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ll, 546, 0, scope))
    return sock, (ALL_SERVERS, 547, 0, scope)


def lease(iface, n, out_path, kill_after=None, kill_pid=None):
    sock, dest = open_socket(iface)
    got = {}
    for k in range(n):
        if kill_after is not None and len(got) == kill_after:
            # The next Solicit goes out first, then the kill: the router
            # dies with work in hand.
            sock.sendto(bytes([1]) + os.urandom(3) + opt(1, duid_for(100000 + k)) + ia_na(1), dest)
            os.kill(kill_pid, 9)
            kill_after = None
        duid = duid_for(k)
        base = opt(1, duid) + opt(8, b"\x00\x00")
        adv = ask(sock, dest, 1, base + ia_na(1), 2)
        if adv is None:
            continue
        sid, addr = server_id(adv), reply_address(adv)
        if sid is None or addr is None:
            continue
        rep = ask(sock, dest, 3, base + opt(2, sid) + ia_na(1, addr), 7)
        if rep is None:
            continue
        acked = reply_address(rep)
        if acked:
            got[duid.hex()] = acked
            tmp = out_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(got, f)
            os.replace(tmp, out_path)
    print(f"{len(got)} of {n} clients acknowledged")


def renew(iface, in_path, out_path):
    sock, dest = open_socket(iface)
    with open(in_path) as f:
        leases = json.load(f)
    got = {}
    sid = None
    for duid_hex, addr in leases.items():
        duid = bytes.fromhex(duid_hex)
        base = opt(1, duid) + opt(8, b"\x00\x00")
        if sid is None:
            # Learn the server's DUID from a Solicit for this IA.
            adv = ask(sock, dest, 1, base + ia_na(1), 2)
            sid = adv and server_id(adv)
            if sid is None:
                continue
        rep = ask(sock, dest, 5, base + opt(2, sid) + ia_na(1, addr), 7)
        if rep is not None:
            got[duid_hex] = reply_address(rep)
    with open(out_path, "w") as f:
        json.dump(got, f)
    print(f"{len(got)} of {len(leases)} renewals answered")


def main():
    random.seed()
    if len(sys.argv) >= 5 and sys.argv[1] == "lease":
        if len(sys.argv) == 8 and sys.argv[5] == "--kill-after":
            lease(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[6]), int(sys.argv[7]))
        else:
            lease(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "renew":
        renew(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
