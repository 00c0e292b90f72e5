//! IPv4 header view and `Repr::parse` over arbitrary bytes.
//!
//! Properties: no panic; once `new_checked` passes every getter works;
//! 20 <= header_len <= total_len <= buffer; the payload is what Total
//! Length says.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{Ipv4Packet, Ipv4Repr};

fuzz_target!(|data: &[u8]| {
    let repr = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(data));
    let Ok(packet) = Ipv4Packet::new_checked(data) else {
        assert!(repr.is_err(), "Repr parsed what check_len refused");
        return;
    };
    black_box(packet.version());
    black_box(packet.dscp());
    black_box(packet.ecn());
    black_box(packet.identification());
    black_box(packet.dont_frag());
    black_box(packet.more_frags());
    black_box(packet.frag_offset());
    black_box(packet.is_fragment());
    black_box(packet.ttl());
    black_box(packet.protocol());
    black_box(packet.checksum());
    black_box(packet.src_addr());
    black_box(packet.dst_addr());
    black_box(packet.verify_checksum());
    let header_len = packet.header_len();
    let total_len = usize::from(packet.total_len());
    assert!(20 <= header_len && header_len <= total_len && total_len <= data.len());
    assert_eq!(packet.options().len(), header_len - 20);
    assert_eq!(packet.payload().len(), total_len - header_len);
    if let Ok(repr) = repr {
        assert_eq!(repr.payload_len, packet.payload().len());
        assert_eq!(repr.buffer_len(), 20);
    }
});
