//! Packet sources and sinks around the engine.
//!
//! - [`pcap`]: capture files for `routelet replay` and the benches.
//! - [`csum`]: finishing the partial L4 checksum of a frame the RX ring
//!   flagged `csum_not_ready` (safe code, outside the `unsafe` fence).
//! - [`iflock`]: one router per interface, an `flock` per (namespace,
//!   interface) held for the process's life (safe code, nix).
//! - [`sys`]: AF_PACKET sockets with TPACKET rings for `routelet run`, the
//!   one module allowed `unsafe`.

pub mod csum;
pub mod iflock;
pub mod pcap;
#[allow(unsafe_code)]
pub mod sys;
