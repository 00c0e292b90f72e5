//! TCP segment view and `Repr::parse` over arbitrary bytes (the IP
//! payload), with both pseudo-header checksum paths.
//!
//! Properties: no panic; once `new_checked` passes every getter works;
//! options and payload split the segment at Data Offset.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{TcpPacket, TcpRepr};
use routelet_fuzz::{V4_DST, V4_SRC, V6_DST, V6_SRC};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = TcpPacket::new_checked(data) else {
        return;
    };
    black_box(packet.src_port());
    black_box(packet.dst_port());
    black_box(packet.seq_number());
    black_box(packet.ack_number());
    black_box(packet.window_len());
    black_box(packet.checksum());
    black_box(packet.urgent_at());
    let flags = packet.flags();
    black_box((flags.fin(), flags.syn(), flags.rst(), flags.psh()));
    black_box((flags.ack(), flags.urg(), flags.ece(), flags.cwr()));
    black_box(format!("{flags:?}"));
    black_box(packet.verify_checksum_v6(&V6_SRC, &V6_DST));
    black_box(packet.verify_checksum_v4(&V4_SRC, &V4_DST));
    let header_len = packet.header_len();
    assert!(20 <= header_len && header_len <= data.len());
    assert_eq!(packet.options().len(), header_len - 20);
    assert_eq!(packet.payload().len(), data.len() - header_len);
    let repr = TcpRepr::parse(&packet).expect("Repr::parse refused a checked packet");
    assert_eq!(repr.payload_len, data.len() - header_len);
});
