//! parse -> emit -> parse for every `Repr` that round-trips.
//!
//! Input: byte 0 picks the protocol (`% 8`: Ethernet, ARP, IPv4, IPv6, UDP,
//! TCP, ICMPv4, ICMPv6 including ND); the rest is the packet.
//!
//! Properties, for whatever parses:
//! - the `Repr` parsed back from the emitted bytes equals the first one.
//!   The comparison is on the `Repr`, which is what each module defines as
//!   canonical; what a `Repr` leaves out (IPv4 options, MF and fragment
//!   offset, DSCP/ECN; IPv6 traffic class and flow label; TCP options and
//!   urgent pointer; VLAN TPIDs; ND codes and reserved bits) is
//!   legitimately normalised by emit and not compared;
//! - emit writes every octet of its header: emitting into a buffer filled
//!   with 0xa5 and into one filled with 0x5a gives the same bytes;
//! - emitted checksums (IPv4 header, ICMPv4, ICMPv6) are correct, checked
//!   by summing, since the library's `verify` is `true` under fuzzing;
//! - for ND messages, the options are also re-encoded one by one (as an
//!   `NdiscOptions::List`, the way the engine builds RAs) and must parse
//!   back to the same message. Route Information options may come back
//!   shorter (emit uses the minimum length for the prefix, RFC 4191 §2.3),
//!   so lengths are not compared, only meaning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use routelet::wire::{
    ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet,
    Icmpv6Repr, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, NdiscOption, NdiscOptions, NdiscRepr,
    TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};
use routelet_fuzz::{checksum_ok, icmpv6_checksum_ok, V6_DST, V6_SRC};

fuzz_target!(|data: &[u8]| {
    let [selector, rest @ ..] = data else {
        return;
    };
    match selector % 8 {
        0 => ethernet(rest),
        1 => arp(rest),
        2 => ipv4(rest),
        3 => ipv6(rest),
        4 => udp(rest),
        5 => tcp(rest),
        6 => icmpv4(rest),
        _ => icmpv6(rest),
    }
});

/// Runs `emit` over a `len`-byte buffer pre-filled with 0xa5 and over one
/// pre-filled with 0x5a; the first `header` bytes must agree (every header
/// octet written). Returns the 0xa5 buffer.
fn emit_twice(len: usize, header: usize, emit: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut a = vec![0xa5u8; len];
    let mut b = vec![0x5au8; len];
    emit(&mut a);
    emit(&mut b);
    assert_eq!(
        a.get(..header),
        b.get(..header),
        "emit left header octets unwritten"
    );
    a
}

/// Writes `payload` after `header` bytes of `buf`.
fn put_payload(buf: &mut [u8], header: usize, payload: &[u8]) {
    buf.get_mut(header..)
        .expect("buffer shorter than its header")
        .copy_from_slice(payload);
}

fn ethernet(data: &[u8]) {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let Ok(repr) = EthernetRepr::parse(&frame) else {
        return;
    };
    let header = repr.buffer_len();
    let payload = data.get(header..).expect("header_len past the frame");
    let mut buf = emit_twice(header + payload.len(), header, |b| {
        repr.emit(&mut EthernetFrame::new_unchecked(b))
    });
    put_payload(&mut buf, header, payload);
    let frame = EthernetFrame::new_checked(&buf[..]).expect("emitted frame too short");
    let again = EthernetRepr::parse(&frame).expect("emitted frame does not parse");
    assert_eq!(again, repr);
    assert_eq!(again.header_len(), header);
}

fn arp(data: &[u8]) {
    let Ok(repr) = ArpRepr::parse(&ArpPacket::new_unchecked(data)) else {
        return;
    };
    let len = repr.buffer_len();
    let buf = emit_twice(len, len, |b| repr.emit(&mut ArpPacket::new_unchecked(b)));
    let again =
        ArpRepr::parse(&ArpPacket::new_unchecked(&buf[..])).expect("emitted ARP does not parse");
    assert_eq!(again, repr);
}

fn ipv4(data: &[u8]) {
    let packet = Ipv4Packet::new_unchecked(data);
    let Ok(repr) = Ipv4Repr::parse(&packet) else {
        return;
    };
    let payload = packet.payload();
    assert_eq!(payload.len(), repr.payload_len);
    let header = repr.buffer_len();
    let mut buf = emit_twice(header + payload.len(), header, |b| {
        repr.emit(&mut Ipv4Packet::new_unchecked(b))
    });
    assert!(
        checksum_ok(0, buf.get(..header).unwrap_or_default()),
        "emitted IPv4 header checksum is wrong"
    );
    put_payload(&mut buf, header, payload);
    let again =
        Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&buf[..])).expect("emitted IPv4 does not parse");
    assert_eq!(again, repr);
}

fn ipv6(data: &[u8]) {
    let packet = Ipv6Packet::new_unchecked(data);
    let Ok(repr) = Ipv6Repr::parse(&packet) else {
        return;
    };
    let payload = packet.payload();
    assert_eq!(payload.len(), repr.payload_len);
    let header = repr.buffer_len();
    let mut buf = emit_twice(header + payload.len(), header, |b| {
        repr.emit(&mut Ipv6Packet::new_unchecked(b))
    });
    put_payload(&mut buf, header, payload);
    let again =
        Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&buf[..])).expect("emitted IPv6 does not parse");
    assert_eq!(again, repr);
}

fn udp(data: &[u8]) {
    let Ok(packet) = UdpPacket::new_checked(data) else {
        return;
    };
    let Ok(repr) = UdpRepr::parse(&packet) else {
        return;
    };
    let payload = packet.payload();
    let header = 8;
    let mut buf = emit_twice(repr.buffer_len(), header, |b| {
        repr.emit(&mut UdpPacket::new_unchecked(b))
    });
    put_payload(&mut buf, header, payload);
    let again =
        UdpRepr::parse(&UdpPacket::new_unchecked(&buf[..])).expect("emitted UDP does not parse");
    assert_eq!(again, repr);
}

fn tcp(data: &[u8]) {
    let Ok(packet) = TcpPacket::new_checked(data) else {
        return;
    };
    let Ok(repr) = TcpRepr::parse(&packet) else {
        return;
    };
    let payload = packet.payload();
    let header = 20;
    let mut buf = emit_twice(repr.buffer_len(), header, |b| {
        repr.emit(&mut TcpPacket::new_unchecked(b))
    });
    put_payload(&mut buf, header, payload);
    let again =
        TcpRepr::parse(&TcpPacket::new_unchecked(&buf[..])).expect("emitted TCP does not parse");
    assert_eq!(again, repr);
}

fn icmpv4(data: &[u8]) {
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    let Ok(repr) = Icmpv4Repr::parse(&packet) else {
        return;
    };
    let len = repr.buffer_len();
    let buf = emit_twice(len, len, |b| {
        repr.emit(&mut Icmpv4Packet::new_unchecked(b))
            .expect("emit into buffer_len() bytes failed")
    });
    assert!(checksum_ok(0, &buf), "emitted ICMPv4 checksum is wrong");
    let again = Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&buf[..]))
        .expect("emitted ICMPv4 does not parse");
    assert_eq!(again, repr);
}

/// Emits an ICMPv6 `Repr`, checks every octet was written and the
/// checksum, and returns the bytes.
fn emit_icmpv6(repr: &Icmpv6Repr<'_>) -> Vec<u8> {
    let len = repr.buffer_len();
    let buf = emit_twice(len, len, |b| {
        repr.emit(&V6_SRC, &V6_DST, &mut Icmpv6Packet::new_unchecked(b))
            .expect("emit into buffer_len() bytes failed")
    });
    assert!(
        icmpv6_checksum_ok(&V6_SRC, &V6_DST, &buf),
        "emitted ICMPv6 checksum is wrong"
    );
    buf
}

fn icmpv6(data: &[u8]) {
    let Ok(packet) = Icmpv6Packet::new_checked(data) else {
        return;
    };
    let Ok(repr) = Icmpv6Repr::parse(&V6_SRC, &V6_DST, &packet) else {
        return;
    };
    let buf = emit_icmpv6(&repr);
    let again = Icmpv6Repr::parse(&V6_SRC, &V6_DST, &Icmpv6Packet::new_unchecked(&buf[..]))
        .expect("emitted ICMPv6 does not parse");
    assert_eq!(again, repr);

    let Icmpv6Repr::Ndisc(nd) = repr else {
        return;
    };
    // Re-encode the options from their values.
    let list: Vec<NdiscOption<'_>> = nd
        .options()
        .iter()
        .map(|o| o.expect("options of a parsed message fail to walk"))
        .collect();
    let rebuilt = Icmpv6Repr::Ndisc(with_options(nd, NdiscOptions::List(&list)));
    let buf = emit_icmpv6(&rebuilt);
    let again = Icmpv6Repr::parse(&V6_SRC, &V6_DST, &Icmpv6Packet::new_unchecked(&buf[..]))
        .expect("ND message with re-encoded options does not parse");
    assert_eq!(again, repr, "re-encoded ND options changed meaning");
}

/// `nd` with its options replaced.
fn with_options<'a>(nd: NdiscRepr<'a>, options: NdiscOptions<'a>) -> NdiscRepr<'a> {
    match nd {
        NdiscRepr::RouterSolicit { .. } => NdiscRepr::RouterSolicit { options },
        NdiscRepr::RouterAdvert {
            cur_hop_limit,
            flags,
            router_lifetime,
            reachable_time,
            retrans_time,
            ..
        } => NdiscRepr::RouterAdvert {
            cur_hop_limit,
            flags,
            router_lifetime,
            reachable_time,
            retrans_time,
            options,
        },
        NdiscRepr::NeighborSolicit { target_addr, .. } => NdiscRepr::NeighborSolicit {
            target_addr,
            options,
        },
        NdiscRepr::NeighborAdvert {
            flags, target_addr, ..
        } => NdiscRepr::NeighborAdvert {
            flags,
            target_addr,
            options,
        },
        NdiscRepr::Redirect {
            target_addr,
            dest_addr,
            ..
        } => NdiscRepr::Redirect {
            target_addr,
            dest_addr,
            options,
        },
    }
}
