//! The I/O-agnostic pipeline.
//!
//! A [`Router`] takes (ingress interface, frame, now) and appends what it
//! emits to a [`TxBatch`]; it counts every drop by [`DropReason`]. It reads
//! no clock and does no I/O, so the same code runs under the AF_PACKET
//! workers, under `routelet replay` and under unit tests.
//!
//! Layout, following the design's parts:
//! - [`compiled`]: the immutable, shared view of the config the workers read.
//! - [`router`]: per-worker state and the per-frame dispatch (L2 → L3 →
//!   local services), timers via `next_deadline` / `on_timer`.
//! - [`ra`], `nd`, `local`, `arp`: the local services, one stage each.
//! - [`stats`], [`tx`], [`time`], [`ratelimit`], [`rng`]: the plumbing.

pub mod compiled;
pub mod neighbor;
pub mod ra;
pub mod ratelimit;
pub mod rng;
pub mod router;
pub mod stats;
pub mod time;
pub mod tx;

mod emit;
mod forward;
mod nd;

pub use compiled::{BuildError, CompiledConfig, IfaceConfig, LinkInfo};
pub use router::Router;
pub use stats::{DropReason, IfaceStats};
pub use time::Instant;
pub use tx::{TxBatch, TxFrame};

/// A router interface, numbered in config order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IfaceId(pub u16);
