//! `wire::dhcpv6::parse` over arbitrary bytes (a UDP payload); what parses
//! is emitted and parsed again.
//!
//! Properties: no panic (dhcproto included: `parse` screens its input);
//! a parsed message re-emits to as many octets as came in, and the
//! re-emitted bytes parse to an equal message (options come back sorted by
//! code, which `Message` equality does not see since dhcproto keeps them
//! sorted).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::wire::dhcpv6;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = dhcpv6::parse(data) else {
        return;
    };
    black_box(msg.msg_type());
    black_box(msg.xid());
    for opt in msg.opts().iter() {
        black_box(format!("{opt:?}"));
    }
    let bytes = dhcpv6::emit(&msg).expect("a parsed message does not emit");
    assert_eq!(bytes.len(), data.len(), "emit changed the length");
    let again = dhcpv6::parse(&bytes).expect("emitted bytes do not parse");
    assert_eq!(again, msg, "emit/parse changed the message");
});
