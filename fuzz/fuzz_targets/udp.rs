//! UDP datagram view and `Repr::parse` over arbitrary bytes (the IP
//! payload), with both pseudo-header checksum paths.
//!
//! Properties: no panic; once `new_checked` passes every getter works and
//! the payload is Length - 8 bytes.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{UdpPacket, UdpRepr};
use routelet_fuzz::{V4_DST, V4_SRC, V6_DST, V6_SRC};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = UdpPacket::new_checked(data) else {
        return;
    };
    black_box(packet.src_port());
    black_box(packet.dst_port());
    black_box(packet.checksum());
    black_box(packet.verify_checksum_v6(&V6_SRC, &V6_DST));
    black_box(packet.verify_checksum_v4(&V4_SRC, &V4_DST));
    let len = usize::from(packet.len());
    assert!(8 <= len && len <= data.len());
    assert_eq!(packet.payload().len(), len - 8);
    let repr = UdpRepr::parse(&packet).expect("Repr::parse refused a checked packet");
    assert_eq!(repr.buffer_len(), len);
});
