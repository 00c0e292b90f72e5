//! Packet sources and sinks around the engine.
//!
//! - [`pcap`]: capture files for `routelet replay` and the benches.
//!
//! The AF_PACKET rings of `routelet run` will live in `io::sys`, the one
//! module allowed `unsafe`.

pub mod pcap;
