//! Ethernet frame view and `Repr::parse` (VLAN walk) over arbitrary bytes.
//!
//! Properties: no panic; once `new_checked` passes every getter works; a
//! parsed header never claims more bytes than the frame has.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{EthernetFrame, EthernetRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    black_box(frame.dst_addr());
    black_box(frame.src_addr());
    black_box(frame.ethertype().is_vlan_tpid());
    black_box(frame.payload());
    let Ok(repr) = EthernetRepr::parse(&frame) else {
        return;
    };
    assert!(
        repr.header_len() <= data.len(),
        "header_len {} past a {}-byte frame",
        repr.header_len(),
        data.len()
    );
    assert_eq!(repr.buffer_len(), repr.header_len());
    assert!(!repr.ethertype.is_vlan_tpid(), "a TPID left as the L3 type");
    if let Some(tag) = repr.vlan {
        black_box(tag.tci());
    }
    if repr.outer_vlan.is_some() {
        assert!(repr.vlan.is_some(), "outer tag without an inner one");
    }
});
