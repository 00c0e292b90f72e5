//! routelet: a userspace virtual router dataplane for IPv6-first clouds.
//!
//! One `routelet run` process is one tenant's router. The crate is layered
//! so that dependencies point downward:
//!
//! - [`wire`]: bytes to headers and back; no I/O, no clock, no allocation.
//! - [`base`]: interface numbers, time, randomness, rate limits.
//! - the tables: [`route`] (RIB and the compiled FIB), [`neighbor`] (the
//!   neighbor cache); [`config`]: the TOML schema of DESIGN.md and
//!   Neutron's validation rules.
//! - [`engine`]: the I/O-agnostic pipeline of stages. A
//!   [`engine::Router`] takes (ingress interface, frames, now) and yields
//!   emitted and punted frames plus counters; timers are exposed as
//!   `next_deadline` / `on_timer(now)`.
//! - [`io`]: packet sources and sinks: pcap files for `routelet replay`,
//!   and `io::sys`, AF_PACKET rings, the only place allowed `unsafe`.
//! - [`runtime`] (`routelet run`: workers, signals) and [`control`] (the
//!   control socket), then `main`.
//! - [`replay`]: the `routelet replay` command over the engine.
#![deny(unsafe_code)]

pub mod base;
pub mod config;
pub mod control;
pub mod decode;
pub mod dhcpv6;
pub mod engine;
pub mod io;
pub mod neighbor;
pub mod replay;
pub mod route;
pub mod runtime;
pub mod wire;
