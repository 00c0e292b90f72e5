//! The base layer: small primitives that the tables (routes, neighbors)
//! and the engine above them share: interface numbers, time, randomness,
//! rate limits.
//!
//! Layers, bottom up: wire → base → tables (`route`, `neighbor`) → engine
//! → runtime / control → main. Nothing here imports from above.

pub mod ratelimit;
pub mod rng;
pub mod time;

pub use ratelimit::TokenBucket;
pub use rng::Rng;
pub use time::Instant;

/// A router interface, numbered in config order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IfaceId(pub u16);
