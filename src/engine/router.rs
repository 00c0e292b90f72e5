//! One worker's router: the public face of the engine, and the dispatcher
//! that runs the stages (`stage/`) and acts on their verdicts (`next.rs`).
//!
//! A batch of frames from one interface goes through the stages frame by
//! frame: first the stages that only read the shared config and FIB (L2,
//! IP input, lookup: `classify`), then the stages that change worker state
//! (local delivery, ND, ARP, filter, rewrite) and the verdict's action
//! (punt, ICMP error, counters: `act`). What belongs to the batch (the
//! snapshot borrows, the receive counters, TX accounting) is done once per
//! batch; `process` is a batch of one.
//!
//! Why not VPP's passes (every frame through one stage, then the next):
//! measured with `cargo bench --bench forward`, running `classify` over 32
//! frames into a stack array and then `act` over the array cost 11 ns per
//! 64-byte packet more than one pass (44 against 33 ns for IPv6): the
//! array's stores and reloads outweigh the locality a pass buys when a
//! packet's whole path is a few hundred instructions that stay in cache.
//!
//! The shared, immutable part lives in [`CompiledConfig`] behind an `Arc`
//! (and the FIB behind its own snapshot handle); what changes per packet
//! lives in [`WorkerState`] and belongs to one worker, so nothing on the
//! path takes a lock.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::base::{IfaceId, Instant, Rng};
use crate::config::Config;
use crate::neighbor::NeighborTable;
use crate::route::Fib;
use crate::wire::{EtherType, EthernetAddress};

use super::compiled::{BuildError, CompiledConfig, IfaceConfig, LinkInfo};
use super::emit;
use super::next::{Hop, Next, NoTrace, Stage, Step, Trace, Tracer};
use super::ra::RaTimer;
use super::stage::ip4_input;
use super::stage::ip6_input;
use super::stage::lookup::{self, Route};
use super::stage::{arp, filter, icmp_error, l2, local, resolve, rewrite, Ctx, Mode};
use super::state::{icmp_limiter, neighbor_limits, IfaceState, WorkerState};
use super::stats::{DropReason, IfaceStats};
use super::TxBatch;

pub use super::stage::icmp_error::ORIGINATED_HOP_LIMIT;

/// What the read-only stages leave for the stateful ones. Local packets
/// are parsed again by the local stages, which costs a header parse off
/// the forwarding path and keeps this small.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// A verdict is reached (transit packets: `Next::Forward`).
    Verdict(Next),
    /// An ARP packet.
    Arp,
    /// IPv6 for the router.
    Local6,
    /// IPv4 for the router.
    Local4,
}

/// A frame after the read-only stages.
#[derive(Debug, Clone, Copy)]
struct Classified<'a> {
    /// The frame's source MAC (zeros if L2 rejected it).
    src_mac: EthernetAddress,
    /// The L3 packet (trimmed once IP input has parsed it).
    l3: &'a [u8],
    work: Work,
}

/// Records a stage's outcome and yields its value, or records and returns
/// its verdict.
macro_rules! stage {
    ($trace:expr, $stage:expr, $result:expr, |$next:ident| $ret:expr) => {
        match $result {
            Ok(value) => {
                if T::ENABLED {
                    $trace.record($stage, Step::Pass);
                }
                value
            }
            Err($next) => {
                if T::ENABLED {
                    $trace.record($stage, Step::Verdict($next));
                }
                return $ret;
            }
        }
    };
}

/// The stages that read only the config and the FIB, for one frame.
#[inline(always)]
fn classify<'a, T: Tracer>(
    config: &CompiledConfig,
    fib: &Fib,
    iface: &IfaceConfig,
    frame: &'a [u8],
    trace: &mut T,
) -> Classified<'a> {
    let mut out = Classified {
        src_mac: EthernetAddress([0; 6]),
        l3: &[],
        work: Work::Verdict(Next::Drop(DropReason::EthernetTruncated)),
    };
    let eth = stage!(trace, Stage::L2, l2::input(iface, frame), |next| {
        Classified {
            work: Work::Verdict(next),
            ..out
        }
    });
    out.src_mac = eth.src_mac;
    out.l3 = frame.get(eth.header_len..).unwrap_or_default();
    match eth.ethertype {
        EtherType::Ipv6 => {
            let ip = stage!(
                trace,
                Stage::Ip6Input,
                ip6_input::input(iface, out.l3),
                |next| {
                    Classified {
                        work: Work::Verdict(next),
                        ..out
                    }
                }
            );
            out.l3 = ip.l3;
            if ip.repr.dst_addr.is_multicast() {
                out.work = Work::Local6;
                return out;
            }
            let route = stage!(
                trace,
                Stage::Lookup,
                lookup::lookup_v6(config, fib, &ip),
                |next| {
                    Classified {
                        work: Work::Verdict(next),
                        ..out
                    }
                }
            );
            out.work = match route {
                Route::Local => Work::Local6,
                Route::Forward(fwd) => Work::Verdict(Next::Forward(fwd)),
            };
        }
        EtherType::Ipv4 => {
            let ip = stage!(trace, Stage::Ip4Input, ip4_input::input(out.l3), |next| {
                Classified {
                    work: Work::Verdict(next),
                    ..out
                }
            });
            out.l3 = ip.l3;
            if ip.repr.dst_addr == Ipv4Addr::BROADCAST {
                out.work = Work::Local4;
                return out;
            }
            let route = stage!(
                trace,
                Stage::Lookup,
                lookup::lookup_v4(config, fib, &ip),
                |next| {
                    Classified {
                        work: Work::Verdict(next),
                        ..out
                    }
                }
            );
            out.work = match route {
                Route::Local => Work::Local4,
                Route::Forward(fwd) => Work::Verdict(Next::Forward(fwd)),
            };
        }
        EtherType::Arp => out.work = Work::Arp,
        _ => {
            let next = Next::Drop(DropReason::UnknownEthertype);
            if T::ENABLED {
                trace.record(Stage::L2, Step::Verdict(next));
            }
            out.work = Work::Verdict(next);
        }
    }
    out
}

/// Records a stage's verdict; yields it.
#[inline(always)]
fn record<T: Tracer>(trace: &mut T, stage: Stage, next: Next) -> Next {
    if T::ENABLED {
        trace.record(stage, Step::Verdict(next));
    }
    next
}

/// The stages that change worker state, for one frame, then the
/// verdict's action and its counter.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn act<T: Tracer>(
    state: &mut WorkerState,
    config: &CompiledConfig,
    ingress: &IfaceConfig,
    frame: &[u8],
    c: &Classified<'_>,
    now: Instant,
    mode: Mode,
    tx: &mut TxBatch,
    trace: &mut T,
) {
    let ctx = Ctx {
        config,
        ingress,
        src_mac: c.src_mac,
        now,
        mode,
    };
    // The forward verdict is taken by reference: copying `Next` out of
    // the classified frame stalled on store forwarding (perf, `cargo
    // bench --bench forward`).
    let next = match &c.work {
        Work::Verdict(Next::Forward(fwd)) => match filter::check(&ctx, fwd, c.l3) {
            Ok(()) => {
                if T::ENABLED {
                    trace.record(Stage::Filter, Step::Pass);
                }
                let sent = match fwd.next_hop {
                    Hop::V6(_) => rewrite::forward::<Ipv6Addr>(state, &ctx, c.l3, fwd, tx),
                    Hop::V4(_) => rewrite::forward::<Ipv4Addr>(state, &ctx, c.l3, fwd, tx),
                };
                record(trace, Stage::Rewrite, sent)
            }
            Err(reason) => record(trace, Stage::Filter, Next::Drop(reason)),
        },
        Work::Verdict(next) => *next,
        Work::Arp => record(trace, Stage::Arp, arp::input(state, &ctx, c.l3, tx)),
        Work::Local6 => match ip6_input::input(ingress, c.l3) {
            Ok(ip) => {
                let (stage, next) = local::input_v6(state, &ctx, &ip, tx, trace);
                record(trace, stage, next)
            }
            Err(next) => next,
        },
        Work::Local4 => match ip4_input::input(c.l3) {
            Ok(ip) => record(trace, Stage::Local4, local::input_v4(state, &ctx, &ip, tx)),
            Err(next) => next,
        },
    };
    if mode == Mode::LearnOnly {
        // The answering worker counts these frames.
        return;
    }
    match next {
        Next::IcmpError(error) => {
            icmp_error::send(state, config, ingress, c.src_mac, c.l3, error, now, tx);
            record(trace, Stage::IcmpError, next);
            state.count_drop(ingress.id, error.drop_reason());
        }
        Next::Punt(service) => {
            tx.punt(service, ingress.id, frame);
            record(trace, Stage::Punt, next);
            if let Some(s) = state.stats_mut(ingress.id) {
                s.punted += 1;
            }
        }
        Next::Consumed(kind) => state.count_consumed(ingress.id, kind),
        Next::Drop(reason) => state.count_drop(ingress.id, reason),
        Next::Forward(_) | Next::Forwarded | Next::Answered => {}
    }
}

/// One worker's router.
#[derive(Debug)]
pub struct Router {
    config: Arc<CompiledConfig>,
    fib: Arc<Fib>,
    state: WorkerState,
}

impl Router {
    /// A router over a compiled config, its timers starting at `now`, its
    /// randomness seeded from the router's name: deterministic, for replay
    /// and tests. `routelet run` uses [`Router::with_seed`] with OS entropy,
    /// so that nobody who knows the name can precompute neighbor-table
    /// collisions.
    pub fn new(config: Arc<CompiledConfig>, now: Instant) -> Router {
        let rng = Rng::from_seed_bytes(config.router_name.as_bytes());
        Router::with_rng(config, now, rng)
    }

    /// A router whose randomness (neighbor-table hash seeds, timer jitter)
    /// comes from `seed`.
    pub fn with_seed(config: Arc<CompiledConfig>, now: Instant, seed: u64) -> Router {
        Router::with_rng(config, now, Rng::from_seed_bytes(&seed.to_le_bytes()))
    }

    fn with_rng(config: Arc<CompiledConfig>, now: Instant, rng: Rng) -> Router {
        let mut state = WorkerState::new(&config, rng, now);
        let fib = config.fib.load_full();
        state.reset_adjacencies(fib.adjacency_count());
        Router { config, fib, state }
    }

    /// Compiles `config` against `links` and builds a router over it.
    pub fn from_config(
        config: &Config,
        links: &[LinkInfo],
        now: Instant,
    ) -> Result<Router, BuildError> {
        Ok(Router::new(
            Arc::new(CompiledConfig::build(config, links)?),
            now,
        ))
    }

    /// Swaps in a new compiled config (a live `apply`), keeping what the
    /// worker learned on interfaces that stay: counters, neighbor caches.
    /// RA timers restart, so hosts hear the new advertisement within
    /// seconds (the initial fast RAs of RFC 4861 §6.2.4).
    pub fn replace_config(&mut self, config: Arc<CompiledConfig>, now: Instant) {
        let limits = neighbor_limits(&config);
        let mut old: Vec<(String, IfaceState)> = self
            .config
            .ifaces
            .iter()
            .map(|i| i.name.clone())
            .zip(self.state.ifaces.drain(..))
            .collect();
        let mut ifaces = Vec::with_capacity(config.ifaces.len());
        for iface in &config.ifaces {
            let state = match old.iter().position(|(name, _)| *name == iface.name) {
                Some(pos) => {
                    let (_, mut state) = old.swap_remove(pos);
                    state.ra_timer = iface.ra.as_ref().map(|_| RaTimer::new(now));
                    state
                }
                None => IfaceState::new(iface, &limits, &mut self.state.rng, now),
            };
            ifaces.push(state);
        }
        self.state.ifaces = ifaces;
        self.state.icmp_errors = icmp_limiter(&config);
        self.fib = config.fib.load_full();
        self.state.reset_adjacencies(self.fib.adjacency_count());
        self.config = config;
    }

    /// Handles a copy of an ND or ARP frame that another worker answers:
    /// the neighbor caches learn from it (and release what waited for the
    /// neighbor), but nothing is answered or counted.
    pub fn learn(&mut self, ingress: IfaceId, frame: &[u8], now: Instant, tx: &mut TxBatch) {
        self.run(ingress, &[frame], now, Mode::LearnOnly, tx, &mut NoTrace);
    }

    /// Whether this worker sends periodic RAs; all but one worker say no.
    pub fn set_owns_timers(&mut self, owns: bool) {
        self.state.owns_timers = owns;
    }

    /// The compiled config in use.
    pub fn config(&self) -> &Arc<CompiledConfig> {
        &self.config
    }

    /// Picks up the newest FIB snapshot; call once per batch. A new FIB
    /// renumbers the adjacencies, so their caches start empty.
    pub fn sync(&mut self) {
        let current = self.config.fib.load();
        if !Arc::ptr_eq(&current, &self.fib) {
            self.fib = Arc::clone(&current);
            self.state.reset_adjacencies(self.fib.adjacency_count());
        }
    }

    /// Counters of one interface.
    pub fn stats(&self, iface: IfaceId) -> Option<&IfaceStats> {
        self.state
            .ifaces
            .get(usize::from(iface.0))
            .map(|s| &s.stats)
    }

    /// Counters of every interface, in interface order.
    pub fn all_stats(&self) -> Vec<IfaceStats> {
        self.state.ifaces.iter().map(|s| s.stats.clone()).collect()
    }

    /// The IPv6 neighbor cache of an interface.
    pub fn neighbors_v6(&self, iface: IfaceId) -> Option<&NeighborTable<Ipv6Addr>> {
        self.state.ifaces.get(usize::from(iface.0)).map(|s| &s.nd6)
    }

    /// The ARP cache of an interface.
    pub fn neighbors_v4(&self, iface: IfaceId) -> Option<&NeighborTable<Ipv4Addr>> {
        self.state.ifaces.get(usize::from(iface.0)).map(|s| &s.arp4)
    }

    /// Handles one received frame, appending any answer to `tx`.
    #[inline(always)]
    pub fn process(&mut self, ingress: IfaceId, frame: &[u8], now: Instant, tx: &mut TxBatch) {
        self.run(ingress, &[frame], now, Mode::Answer, tx, &mut NoTrace);
    }

    /// Handles frames received together on one interface, appending what
    /// they cause to `tx`: the same as calling [`process`](Self::process)
    /// for each in order, with the per-batch work (snapshot borrows,
    /// receive counters, TX accounting) done once.
    pub fn process_batch(
        &mut self,
        ingress: IfaceId,
        frames: &[&[u8]],
        now: Instant,
        tx: &mut TxBatch,
    ) {
        self.run(ingress, frames, now, Mode::Answer, tx, &mut NoTrace);
    }

    /// Handles one frame as [`process`](Self::process) does, recording the
    /// verdict of every stage it went through. Off the fast path (it
    /// allocates the trace); the fast path's code is a separate
    /// monomorphised copy that records nothing.
    pub fn trace(
        &mut self,
        ingress: IfaceId,
        frame: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) -> Trace {
        let mut trace = Trace::default();
        self.run(ingress, &[frame], now, Mode::Answer, tx, &mut trace);
        trace
    }

    /// Runs frames of one interface through the stages.
    #[inline(always)]
    fn run<T: Tracer>(
        &mut self,
        ingress: IfaceId,
        frames: &[&[u8]],
        now: Instant,
        mode: Mode,
        tx: &mut TxBatch,
        trace: &mut T,
    ) {
        let Router { config, fib, state } = self;
        let Some(iface) = config.iface(ingress) else {
            // No interface to count on: count on the first, if any.
            if let Some(s) = state.ifaces.first_mut() {
                for _ in frames {
                    s.stats.drop(DropReason::UnknownInterface);
                }
            }
            return;
        };
        let first_tx = tx.len();
        for frame in frames {
            let c = classify(config, fib, iface, frame, trace);
            act(state, config, iface, frame, &c, now, mode, tx, trace);
        }
        if mode == Mode::Answer {
            if let Some(s) = state.stats_mut(ingress) {
                s.rx_frames += frames.len() as u64;
                s.rx_bytes += frames.iter().map(|f| f.len() as u64).sum::<u64>();
            }
        }
        state.account_tx(tx, first_tx);
    }

    /// Counts a frame the I/O layer dropped before the engine saw it
    /// (truncated by the ring, VLAN-tagged by the device).
    pub fn count_rx_drop(&mut self, ingress: IfaceId, reason: DropReason) {
        if let Some(s) = self.state.stats_mut(ingress) {
            s.rx_frames += 1;
            s.drop(reason);
        }
    }

    /// Counts frames punted to a service that this process does not run
    /// (the caller drops them).
    pub fn count_unserved_punts(&mut self, tx: &TxBatch) {
        for punted in tx.punts() {
            self.state
                .count_drop(punted.ingress, DropReason::PuntNoService);
        }
    }

    /// The earliest instant at which `on_timer` has work, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let s = &self.state;
        let ra = s
            .ifaces
            .iter()
            .filter(|_| s.owns_timers)
            .filter_map(|i| i.ra_timer.as_ref().map(|t| t.next_multicast));
        let neighbors = s
            .ifaces
            .iter()
            .flat_map(|i| [i.nd6.next_deadline(), i.arp4.next_deadline()])
            .flatten();
        ra.chain(neighbors).min()
    }

    /// Runs every timer due at `now`: periodic RAs, neighbor solicitation
    /// retransmissions, probes and failures, cache aging.
    pub fn on_timer(&mut self, now: Instant, tx: &mut TxBatch) {
        let Router { config, state, .. } = self;
        let first_tx = tx.len();
        if state.owns_timers {
            ra_timers(state, config, now, tx);
        }
        resolve::timers(state, config, now, tx);
        state.account_tx(tx, first_tx);
    }

    /// Says goodbye: a final RA with router lifetime 0 on every advertising
    /// interface (RFC 4861 §6.2.5), so hosts drop the default route at once.
    pub fn shutdown(&mut self, _now: Instant, tx: &mut TxBatch) {
        let Router { config, state, .. } = self;
        let first_tx = tx.len();
        for iface in &config.ifaces {
            if let Some(content) = &iface.ra {
                let body = content.encode(0);
                emit::router_advert_multicast(tx, iface, &body);
            }
        }
        state.account_tx(tx, first_tx);
    }
}

/// Sends the periodic RAs that are due.
fn ra_timers(state: &mut WorkerState, config: &CompiledConfig, now: Instant, tx: &mut TxBatch) {
    let (min, max) = (config.ra_min_interval(), config.ra_max_interval());
    let WorkerState { ifaces, rng, .. } = state;
    for iface in &config.ifaces {
        let Some(content) = &iface.ra else { continue };
        let Some(s) = ifaces.get_mut(usize::from(iface.id.0)) else {
            continue;
        };
        let Some(timer) = s.ra_timer.as_mut() else {
            continue;
        };
        if timer.next_multicast > now {
            continue;
        }
        emit::router_advert_multicast(tx, iface, &content.body_at(now));
        timer.sent_multicast(now, min, max, rng);
        s.stats.tx_ra_unsolicited += 1;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::neighbor::NeighborLimits;

    /// `[router.neighbor]`'s defaults (config, which sits below the engine)
    /// repeat the neighbor cache's own: they must not drift apart.
    #[test]
    fn config_neighbor_defaults_are_the_caches_defaults() {
        let config: Config =
            Config::from_toml_str("[router]\nname = \"r\"\n").expect("minimal config");
        let compiled = CompiledConfig::build(&config, &[]).expect("compiles");
        assert_eq!(neighbor_limits(&compiled), NeighborLimits::default());
    }
}
