//! IPv6 fixed header view, `Repr::parse`, and the extension-header walk
//! over the payload.
//!
//! Properties: no panic; once `new_checked` passes every getter works and
//! the payload is Payload Length bytes; the walk's upper-layer offset lies
//! inside the payload.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{walk_extension_headers, Ipv6Packet, Ipv6Repr};

fuzz_target!(|data: &[u8]| {
    let repr = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(data));
    let Ok(packet) = Ipv6Packet::new_checked(data) else {
        assert!(repr.is_err(), "Repr parsed what check_len refused");
        return;
    };
    black_box(packet.version());
    black_box(packet.traffic_class());
    black_box(packet.flow_label());
    black_box(packet.hop_limit());
    black_box(packet.src_addr());
    black_box(packet.dst_addr());
    assert!(packet.flow_label() < 1 << 20);
    let payload = packet.payload();
    assert_eq!(payload.len(), usize::from(packet.payload_len()));
    assert_eq!(packet.total_len(), 40 + payload.len());
    if let Ok(repr) = repr {
        assert_eq!(repr.payload_len, payload.len());
    }
    if let Ok(upper) = walk_extension_headers(packet.next_header(), payload) {
        assert!(
            upper.offset <= payload.len(),
            "upper layer at {} past a {}-byte payload",
            upper.offset,
            payload.len()
        );
        black_box(upper.is_non_first_fragment());
        black_box(upper.router_alert);
        if let Some(frag) = upper.fragment {
            assert_eq!(frag.offset % 8, 0);
        }
    }
});
