//! `NdiscRepr::parse_validated` (RFC 4861 validity checks) over arbitrary
//! bytes, then every option, RDNSS address and DNSSL name.
//!
//! Input: byte 0 picks the IP source and byte 1 the IP destination from
//! `routelet_fuzz::V6_ADDRS` (low 3 bits), byte 2 is the IP hop limit, the
//! rest is the ICMPv6 message.
//!
//! Properties: no panic; a validated message really meets the rules the
//! module doc lists (hop limit 255, code 0, ...).
#![no_main]

use std::hint::black_box;
use std::net::Ipv6Addr;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{Icmpv6Packet, NdiscRepr};
use routelet_fuzz::{exercise_nd_options, v6_addr};

/// fe80::/10.
fn is_link_local(addr: &Ipv6Addr) -> bool {
    let [a, b, ..] = addr.octets();
    a == 0xfe && b & 0xc0 == 0x80
}

fuzz_target!(|data: &[u8]| {
    let [src, dst, hop_limit, message @ ..] = data else {
        return;
    };
    let (src, dst) = (v6_addr(*src), v6_addr(*dst));
    let packet = Icmpv6Packet::new_unchecked(message);
    let Ok(repr) = NdiscRepr::parse_validated(&src, &dst, *hop_limit, &packet) else {
        return;
    };
    assert_eq!(*hop_limit, 255, "accepted a forwarded ND message");
    assert_eq!(packet.msg_code(), 0, "accepted a non-zero code");
    assert_eq!(repr.msg_type(), packet.msg_type());
    assert_eq!(repr.buffer_len(), message.len());
    match repr {
        NdiscRepr::RouterAdvert { flags, .. } => {
            assert!(is_link_local(&src), "RA from a non-link-local source");
            black_box((flags.managed(), flags.other(), flags.preference()));
            black_box(format!("{flags:?}"));
        }
        NdiscRepr::NeighborAdvert {
            flags, target_addr, ..
        } => {
            assert!(!target_addr.is_multicast());
            black_box((flags.router(), flags.solicited(), flags.override_()));
            black_box(format!("{flags:?}"));
        }
        NdiscRepr::NeighborSolicit { target_addr, .. } => {
            assert!(!target_addr.is_multicast());
        }
        NdiscRepr::RouterSolicit { options } => {
            assert!(!src.is_unspecified() || options.source_link_layer_addr().is_none());
        }
        NdiscRepr::Redirect { dest_addr, .. } => {
            assert!(is_link_local(&src), "redirect from a non-link-local source");
            assert!(!dest_addr.is_multicast());
        }
    }
    exercise_nd_options(repr.options());
    black_box(format!("{repr:?}"));
});
