//! ICMPv6 view (ND getters included) and `Repr::parse` with fixed
//! addresses, over arbitrary bytes (the upper-layer part of an IPv6
//! payload).
//!
//! Properties: no panic, not even from the getters of an unchecked view
//! (the module promises that); after `check_len` the ND fixed part is
//! there; a parsed ND message's options all iterate.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::icmpv6::{max_error_data_len, truncate_invoking};
use routelet::wire::{Icmpv6Packet, Icmpv6Repr};
use routelet_fuzz::{exercise_nd_options, V6_DST, V6_SRC};

fn getters(packet: &Icmpv6Packet<&[u8]>) {
    let msg = packet.msg_type();
    black_box((msg.is_error(), msg.is_ndisc()));
    black_box(msg.to_string());
    black_box(packet.msg_code());
    black_box(packet.checksum());
    black_box(packet.echo_ident());
    black_box(packet.echo_seq_no());
    black_box(packet.pkt_too_big_mtu());
    black_box(packet.param_problem_ptr());
    black_box(packet.data());
    black_box(packet.body());
    black_box(packet.verify_checksum(&V6_SRC, &V6_DST));
    // The ND getters, whatever the type.
    black_box(packet.cur_hop_limit());
    black_box(format!("{:?}", packet.router_flags()));
    black_box(packet.router_lifetime());
    black_box(packet.reachable_time());
    black_box(packet.retrans_time());
    black_box(format!("{:?}", packet.neighbor_flags()));
    black_box(packet.target_addr());
    black_box(packet.dest_addr());
    black_box(packet.options());
}

fuzz_target!(|data: &[u8]| {
    getters(&Icmpv6Packet::new_unchecked(data));
    black_box(truncate_invoking(data));
    assert!(max_error_data_len(data.len()) <= data.len());
    let Ok(packet) = Icmpv6Packet::new_checked(data) else {
        return;
    };
    getters(&packet);
    let Ok(repr) = Icmpv6Repr::parse(&V6_SRC, &V6_DST, &packet) else {
        return;
    };
    black_box(repr.msg_type());
    if let Icmpv6Repr::Ndisc(nd) = repr {
        // Repr::parse walked the options once; they must walk again.
        nd.options()
            .check()
            .expect("parsed options fail a second walk");
        exercise_nd_options(nd.options());
    }
    assert_eq!(repr.buffer_len(), data.len());
});
