//! Packet sources and sinks around the engine.
//!
//! - [`pcap`]: capture files for `routelet replay` and the benches.
//! - [`sys`]: AF_PACKET sockets with TPACKET rings for `routelet run`, the
//!   one module allowed `unsafe`.

pub mod pcap;
#[allow(unsafe_code)]
pub mod sys;
