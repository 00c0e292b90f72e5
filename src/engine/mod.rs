//! The I/O-free pipeline.
//!
//! A [`Router`] takes frames (ingress interface, bytes, now) and appends
//! what they cause to a [`TxBatch`]: frames to send, frames punted to a
//! local service. It reads no clock and does no I/O, so the same code runs
//! under the AF_PACKET workers, under `routelet replay` and under unit
//! tests.
//!
//! Layout, following the design's parts:
//! - [`compiled`]: the immutable, shared view of the config the workers
//!   read (addresses, RA content, the FIB with receive entries).
//! - `stage/`: the per-frame stages, one file each (L2, IP input, lookup,
//!   local delivery, ND, ARP, filter, rewrite, ICMP errors, neighbor
//!   resolution); each returns a verdict ([`next::Next`]).
//! - [`router`]: the dispatcher that runs the stages over a batch and acts
//!   on their verdicts, and the timers (`next_deadline` / `on_timer`).
//! - `state.rs`: what one worker changes (counters, neighbor caches,
//!   adjacency caches); [`stats`], [`tx`], `emit.rs`, [`ra`]: the plumbing.
//!
//! Imports inside the engine run one way: the dispatcher uses the stages,
//! the stages use the state, emitters and verdicts, and none of those uses
//! the dispatcher. Below the engine: the tables ([`crate::route`],
//! [`crate::neighbor`]) and [`crate::base`].
#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

pub mod compiled;
pub mod next;
pub mod ra;
pub mod router;
pub mod stats;
pub mod tx;

mod emit;
mod stage;
mod state;

pub use crate::base::{IfaceId, Instant};
pub use compiled::{BuildError, CompiledConfig, IfaceConfig, LinkInfo};
pub use next::{Forward, Hop, Next, Service, Stage, Step, Trace};
pub use router::Router;
pub use stats::{Consumed, DropReason, IfaceStats};
pub use tx::{Punted, TxBatch, TxFrame};
