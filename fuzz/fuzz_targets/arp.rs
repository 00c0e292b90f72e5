//! ARP packet view (any hln/pln) and the Ethernet/IPv4 `Repr::parse`.
//!
//! Properties: no panic; once `new_checked` passes every getter works and
//! the address fields have the sizes hln/pln announce.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::{ArpPacket, ArpRepr};

fuzz_target!(|data: &[u8]| {
    // The Repr path runs its own checks first (foreign ARP before
    // truncation), so give it the raw bytes whatever the view says.
    if let Ok(repr) = ArpRepr::parse(&ArpPacket::new_unchecked(data)) {
        black_box(repr.is_gratuitous());
        assert_eq!(repr.buffer_len(), 28);
    }
    let Ok(packet) = ArpPacket::new_checked(data) else {
        return;
    };
    let hln = usize::from(packet.hardware_len());
    let pln = usize::from(packet.protocol_len());
    black_box(packet.hardware_type());
    black_box(packet.protocol_type());
    black_box(packet.operation());
    assert_eq!(packet.source_hardware_addr().len(), hln);
    assert_eq!(packet.source_protocol_addr().len(), pln);
    assert_eq!(packet.target_hardware_addr().len(), hln);
    assert_eq!(packet.target_protocol_addr().len(), pln);
});
