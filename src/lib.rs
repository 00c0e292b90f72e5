//! routelet: a userspace virtual router dataplane for IPv6-first clouds.
//!
//! One `routelet run` process is one tenant's router. The crate is layered
//! so that dependencies point downward:
//!
//! - [`wire`]: bytes to headers and back; no I/O, no clock, no allocation.
//! - [`config`]: the TOML schema of DESIGN.md and Neutron's validation rules.
//! - [`engine`]: the I/O-agnostic pipeline. A [`engine::Router`] takes
//!   (ingress interface, frame, now) and yields emitted frames plus drop
//!   counters; timers are exposed as `next_deadline` / `on_timer(now)`.
//! - [`io`]: packet sources and sinks: pcap files for `routelet replay`
//!   (and, later, AF_PACKET rings, the only place allowed `unsafe`).
//! - [`replay`]: the `routelet replay` command over the engine.
#![deny(unsafe_code)]

pub mod config;
pub mod control;
pub mod decode;
pub mod engine;
pub mod io;
pub mod replay;
pub mod route;
pub mod runtime;
pub mod wire;
