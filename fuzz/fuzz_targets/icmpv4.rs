//! ICMPv4 view and `Repr::parse` over arbitrary bytes (the IPv4 payload).
//!
//! Properties: no panic, not even from the getters of an unchecked view
//! (the module promises that); a parsed `Repr` emits into `buffer_len()`
//! bytes.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{Icmpv4Packet, Icmpv4Repr};

fn getters(packet: &Icmpv4Packet<&[u8]>) {
    let msg = packet.msg_type();
    black_box(msg.is_error());
    black_box(msg.to_string());
    black_box(packet.msg_code());
    black_box(packet.checksum());
    black_box(packet.echo_ident());
    black_box(packet.echo_seq_no());
    black_box(packet.next_hop_mtu());
    black_box(packet.param_problem_ptr());
    black_box(packet.data());
    black_box(packet.verify_checksum());
}

fuzz_target!(|data: &[u8]| {
    // Getters never panic, even before check_len.
    getters(&Icmpv4Packet::new_unchecked(data));
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    getters(&packet);
    assert_eq!(packet.data().len(), data.len() - 8);
    let Ok(repr) = Icmpv4Repr::parse(&packet) else {
        return;
    };
    black_box(repr.msg_type().is_error());
    assert_eq!(repr.buffer_len(), data.len());
});
