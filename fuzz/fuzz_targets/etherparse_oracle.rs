//! etherparse as an oracle: the same layer-by-layer comparison as
//! `tests/wire_oracle.rs` (Ethernet, VLAN tags, IPv4, IPv6 and its
//! extension headers, UDP, TCP, ICMPv4, ICMPv6), on arbitrary frames.
//!
//! Properties: routelet and etherparse agree on every field they both
//! read, on where each layer ends and on what each accepts, except for the
//! documented differences (`compare::Known`, each taken only when its
//! condition holds). Checksums are not compared here: under `cfg(fuzzing)`
//! routelet's `verify` helpers always succeed.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../tests/wire_oracle/compare.rs"]
mod compare;

fuzz_target!(|frame: &[u8]| {
    let mut stats = compare::Stats::default();
    if let Err(disagreement) = compare::compare_frame(frame, &mut stats) {
        panic!("routelet and etherparse disagree: {disagreement}");
    }
});
