//! One worker thread: its sockets, its router, its loop.
//!
//! The loop: sleep in epoll (mio) until a socket is readable, the next
//! engine deadline, or a wake-up; read the clock once; drain each socket's
//! RX ring within its budget in vectors of up to `RX_VEC_MAX` frames
//! (`PacketSocket::rx_vec`): the per-frame checks (snaplen, VLAN, partial
//! checksum) pick the accepted frames into a stack array, which then goes
//! to the router frame by frame (one `process_batch` call once the engine
//! has it); send what
//! the router emitted, per interface, in one batch; run due timers; pick up
//! a new config or FIB; publish a snapshot if the control plane asked.
//! Nothing on this path allocates once the TX batch has grown to its
//! working size, and nothing takes a lock (the snapshot mutex is touched
//! only when `show` asks).

use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token, Waker};

use crate::control::model::NeighborRow;
use crate::engine::{DropReason, IfaceId, IfaceStats, Instant, Router, TxBatch};
use crate::io::csum::complete_checksum;
use crate::io::sys::{self, PacketSocket, RingConfig, RxFrame, SocketFilter, RX_VEC_MAX};
use crate::wire::{solicited_node, EthernetAddress, ALL_DHCP_AGENTS, ALL_NODES, ALL_ROUTERS};

use super::Shared;

/// What a worker last published for `show`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The request epoch this snapshot answers.
    pub epoch: u64,
    pub stats: Vec<IfaceStats>,
    pub neighbors: Vec<NeighborRow>,
    /// Frames the kernel dropped because a ring was full, per interface.
    pub ring_drops: Vec<RingDrops>,
}

/// One interface's RX ring drops in one worker, per socket kind (totals
/// since start: PACKET_STATISTICS resets on read, the socket accumulates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingDrops {
    /// The data-path socket (in the fanout group with several workers).
    pub main: u64,
    /// The ND/ARP socket (several workers only).
    pub neighbor: u64,
}

impl RingDrops {
    /// Adds another worker's drops.
    pub fn add(&mut self, other: &RingDrops) {
        self.main = self.main.saturating_add(other.main);
        self.neighbor = self.neighbor.saturating_add(other.neighbor);
    }
}

/// One interface's sockets in this worker.
struct IfaceSockets {
    /// Data path: in the fanout group (when several workers), TX too.
    main: PacketSocket,
    /// ND and ARP copies (several workers only): outside the group.
    neighbor: Option<PacketSocket>,
}

const WAKE: Token = Token(usize::MAX);
/// Tokens: 2 × interface index (+1 for the neighbor socket).
fn token(iface: usize, neighbor: bool) -> Token {
    Token(iface * 2 + usize::from(neighbor))
}

/// The multicast groups the router listens to on an interface, as MACs:
/// all-nodes, all-routers, all-DHCP-agents, and the solicited-node group
/// of each router address.
fn multicast_macs(iface: &crate::engine::IfaceConfig) -> Vec<EthernetAddress> {
    let mut groups = vec![ALL_NODES, ALL_ROUTERS, ALL_DHCP_AGENTS];
    groups.push(solicited_node(&iface.link_local));
    groups.extend(iface.ipv6.iter().map(solicited_node));
    let mut macs: Vec<EthernetAddress> = groups
        .iter()
        .map(EthernetAddress::from_ipv6_multicast)
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// The ring settings of `[router.io]`.
fn ring_config(io: &crate::config::IoSettings) -> RingConfig {
    use crate::config::{RingKind, TxKind};
    RingConfig {
        version: match io.rx_ring {
            RingKind::V2 => sys::RingVersion::V2,
            RingKind::V3 => sys::RingVersion::V3,
        },
        block_size: io.rx_block_kib.saturating_mul(1024),
        block_count: (io.rx_ring_kib / io.rx_block_kib.max(1)).max(1),
        retire_timeout_ms: io.retire_timeout_ms,
        tx_mode: match io.tx {
            TxKind::Sendmmsg => sys::TxMode::Sendmmsg,
            TxKind::Ring => sys::TxMode::Ring,
        },
        tx_frame_count: io.tx_ring_frames,
        rx_budget: io.rx_budget as usize,
        ..RingConfig::default()
    }
}

fn open_sockets(index: usize, shared: &Shared) -> io::Result<Vec<IfaceSockets>> {
    let config = shared.config.load();
    let base = ring_config(&config.io_settings);
    let several = shared.workers > 1;
    let pid = std::process::id();
    let mut out = Vec::with_capacity(shared.links.len());
    for (facts, iface) in shared.links.iter().zip(config.ifaces.iter()) {
        let main_cfg = RingConfig {
            fanout_group: several.then(|| sys::fanout_group_id(facts.ifindex, pid)),
            filter: several.then_some(SocketFilter::ExceptNeighbor),
            ..base
        };
        let mut main = PacketSocket::open(facts, &main_cfg)?;
        main.join_multicast(&multicast_macs(iface))?;
        let neighbor = if several {
            // ND/ARP only: a small ring without TX (TX goes out of `main`).
            let cfg = RingConfig {
                version: sys::RingVersion::V3,
                block_count: 1,
                block_size: 64 * 1024,
                tx_mode: sys::TxMode::Sendmmsg,
                filter: Some(SocketFilter::NeighborOnly),
                ..base
            };
            Some(PacketSocket::open(facts, &cfg)?)
        } else {
            None
        };
        tracing::debug!(worker = index, interface = %facts.name, ring_bytes = main.ring_bytes(), "sockets open");
        out.push(IfaceSockets { main, neighbor });
    }
    Ok(out)
}

/// The worker thread's body. Reports on `ready` whether its sockets
/// opened, then loops until `shared.stop`.
pub fn run(index: usize, shared: Arc<Shared>, ready: Sender<(usize, io::Result<()>)>) {
    let setup = (|| -> io::Result<(Poll, Vec<IfaceSockets>)> {
        let poll = Poll::new()?;
        let mut sockets = open_sockets(index, &shared)?;
        for (i, s) in sockets.iter_mut().enumerate() {
            poll.registry()
                .register(&mut s.main, token(i, false), Interest::READABLE)?;
            if let Some(n) = s.neighbor.as_mut() {
                poll.registry()
                    .register(n, token(i, true), Interest::READABLE)?;
            }
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        if let Ok(mut w) = shared.wakers.lock() {
            w.push(waker);
        }
        Ok((poll, sockets))
    })();
    let (poll, sockets) = match setup {
        Ok(s) => {
            let _ = ready.send((index, Ok(())));
            s
        }
        Err(e) => {
            let _ = ready.send((index, Err(e)));
            return;
        }
    };
    drop(ready);
    Worker {
        index,
        // Seeded from OS entropy: a name-derived seed would let anyone who
        // knows the router's name precompute neighbor-table collisions.
        router: Router::with_seed(
            shared.config.load_full(),
            now(&shared),
            crate::base::rng::os_seed(),
        ),
        generation: shared.generation.load(Ordering::Acquire),
        published: 0,
        shared,
        poll,
        sockets,
        tx: TxBatch::with_capacity(512, 512 * 1600),
    }
    .run();
}

/// The per-frame checks before the router sees a vector: frames cut short
/// by the ring slot and VLAN-tagged frames are dropped (`drop` says why);
/// a partial checksum is completed in place. Writes the accepted frames
/// into `out` in order and returns how many.
#[inline]
fn accept<'f>(
    frames: &'f mut [RxFrame<'_>],
    out: &mut [&'f [u8]; RX_VEC_MAX],
    mut drop: impl FnMut(DropReason),
) -> usize {
    let mut n = 0usize;
    for frame in frames.iter_mut() {
        let meta = frame.meta;
        if meta.snaplen < meta.len {
            drop(DropReason::EthernetTruncated);
            continue;
        }
        if meta.vlan_tci.is_some() {
            drop(DropReason::VlanTagged);
            continue;
        }
        if meta.csum_not_ready {
            complete_checksum(frame.data);
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = &*frame.data;
            n += 1;
        }
    }
    n
}

/// A socket's RX ring drops since it opened. A failed PACKET_STATISTICS
/// read keeps the totals gathered so far.
fn ring_drops(socket: &mut PacketSocket) -> u64 {
    match socket.stats() {
        Ok(st) => st.kernel_drops,
        Err(_) => socket.counters().kernel_drops,
    }
}

fn now(shared: &Shared) -> Instant {
    Instant::from_duration(shared.started.elapsed())
}

struct Worker {
    index: usize,
    shared: Arc<Shared>,
    router: Router,
    generation: u64,
    /// The last snapshot epoch published.
    published: u64,
    poll: Poll,
    sockets: Vec<IfaceSockets>,
    tx: TxBatch,
}

impl Worker {
    fn run(mut self) {
        self.router.set_owns_timers(self.index == 0);
        let mut events = Events::with_capacity(64);
        let mut pending = false;
        loop {
            let timeout = if pending {
                Some(Duration::ZERO)
            } else {
                self.router
                    .next_deadline()
                    .map(|d| d.saturating_since(now(&self.shared)))
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::error!(worker = self.index, error = %e, "poll failed");
                    break;
                }
            }
            if self.shared.stop.load(Ordering::Acquire) {
                break;
            }
            let t = now(&self.shared);
            self.pick_up_config(t);
            self.router.sync();
            pending = self.receive(t);
            if self.router.next_deadline().is_some_and(|d| d <= t) {
                self.router.on_timer(t, &mut self.tx);
            }
            self.flush();
            self.publish_if_asked();
        }
        if self.index == 0 {
            self.router.shutdown(now(&self.shared), &mut self.tx);
            self.flush();
        }
        self.publish_if_asked();
    }

    fn pick_up_config(&mut self, t: Instant) {
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.generation = generation;
            self.router
                .replace_config(self.shared.config.load_full(), t);
            tracing::debug!(worker = self.index, generation, "config swapped in");
        }
    }

    /// Drains every socket within its budget; true if a ring still holds
    /// frames (poll again at once: epoll is edge-triggered).
    fn receive(&mut self, t: Instant) -> bool {
        let Worker {
            router,
            sockets,
            tx,
            index,
            ..
        } = self;
        let mut pending = false;
        for (i, s) in sockets.iter_mut().enumerate() {
            let Ok(id) = u16::try_from(i).map(IfaceId) else {
                break;
            };
            s.main.rx_vec(|frames| {
                let mut accepted: [&[u8]; RX_VEC_MAX] = [&[]; RX_VEC_MAX];
                let n = accept(frames, &mut accepted, |reason| {
                    router.count_rx_drop(id, reason);
                });
                // One vector in, one batch to the router.
                router.process_batch(id, accepted.get(..n).unwrap_or_default(), t, tx);
            });
            pending |= s.main.rx_pending();
            if let Some(nb) = s.neighbor.as_mut() {
                let answer = *index == 0;
                nb.rx_vec(|frames| {
                    let mut accepted: [&[u8]; RX_VEC_MAX] = [&[]; RX_VEC_MAX];
                    // ND/ARP copies: the main socket counts the interface's
                    // drops, these are not counted twice.
                    let n = accept(frames, &mut accepted, |_| {});
                    let accepted = accepted.get(..n).unwrap_or_default();
                    if answer {
                        router.process_batch(id, accepted, t, tx);
                    } else {
                        for frame in accepted {
                            router.learn(id, frame, t, tx);
                        }
                    }
                });
                pending |= nb.rx_pending();
            }
        }
        pending
    }

    /// Sends what the router emitted, one batch per interface.
    fn flush(&mut self) {
        if self.tx.punt_count() > 0 {
            // DHCPv6 frames go to the service thread, without blocking.
            match self.shared.punts.get() {
                Some(sender) => {
                    for punted in self.tx.punts() {
                        sender.punt(punted.service, usize::from(punted.ingress.0), punted.frame);
                    }
                }
                None => self.router.count_unserved_punts(&self.tx),
            }
        }
        if self.tx.is_empty() {
            self.tx.clear();
            return;
        }
        for (i, s) in self.sockets.iter_mut().enumerate() {
            let Ok(id) = u16::try_from(i).map(IfaceId) else {
                break;
            };
            let frames = self.tx.iter().filter(|(f, _)| *f == id).map(|(_, b)| b);
            if let Err(e) = s.main.send_batch(frames) {
                tracing::warn!(worker = self.index, interface = s.main.name(), error = %e, "send failed");
            }
        }
        self.tx.clear();
    }

    fn publish_if_asked(&mut self) {
        // One atomic load per loop; the mutex only when `show` asked.
        let wanted = self.shared.snapshot_epoch.load(Ordering::Acquire);
        if wanted <= self.published {
            return;
        }
        self.published = wanted;
        let Some(slot) = self.shared.snapshots.get(self.index) else {
            return;
        };
        let Ok(mut snap) = slot.lock() else { return };
        let config = self.router.config();
        snap.epoch = wanted;
        snap.stats = self.router.all_stats();
        snap.neighbors.clear();
        let t = now(&self.shared);
        for iface in &config.ifaces {
            if let Some(table) = self.router.neighbors_v6(iface.id) {
                for view in table.entries() {
                    snap.neighbors
                        .push(NeighborRow::from_view(&iface.name, &view, t));
                }
            }
            if let Some(table) = self.router.neighbors_v4(iface.id) {
                for view in table.entries() {
                    snap.neighbors
                        .push(NeighborRow::from_view(&iface.name, &view, t));
                }
            }
        }
        snap.ring_drops = self
            .sockets
            .iter_mut()
            .map(|s| RingDrops {
                main: ring_drops(&mut s.main),
                neighbor: s.neighbor.as_mut().map_or(0, ring_drops),
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{IoSettings, RingKind, TxKind};

    #[test]
    fn io_settings_map_onto_the_ring() {
        let cfg = ring_config(&IoSettings::default());
        assert_eq!(cfg.version, sys::RingVersion::V3);
        assert_eq!((cfg.block_size, cfg.block_count), (64 * 1024, 4));
        assert_eq!(cfg.tx_mode, sys::TxMode::Sendmmsg);
        let io = IoSettings {
            rx_ring: RingKind::V2,
            rx_ring_kib: 1024,
            rx_block_kib: 128,
            retire_timeout_ms: 4,
            tx: TxKind::Ring,
            tx_ring_frames: 256,
            rx_budget: 64,
        };
        let cfg = ring_config(&io);
        assert_eq!(cfg.version, sys::RingVersion::V2);
        assert_eq!(
            (cfg.block_size, cfg.block_count, cfg.retire_timeout_ms),
            (128 * 1024, 8, 4)
        );
        assert_eq!(
            (cfg.tx_mode, cfg.tx_frame_count, cfg.rx_budget),
            (sys::TxMode::Ring, 256, 64)
        );
    }

    #[test]
    fn the_router_listens_to_its_groups() {
        let config =
            crate::config::Config::from_toml_str(include_str!("../../examples/slaac.toml"))
                .unwrap();
        let links = crate::engine::LinkInfo::synthetic(&config);
        let compiled = crate::engine::CompiledConfig::build(&config, &links).unwrap();
        let macs = multicast_macs(&compiled.ifaces[0]);
        let has = |s: &str| macs.contains(&s.parse().unwrap());
        assert!(has("33:33:00:00:00:01") && has("33:33:00:00:00:02") && has("33:33:00:01:00:02"));
        // Solicited-node groups of fe80::f816:3eff:fe11:1101 and 2001:db8:cafe::1.
        assert!(has("33:33:ff:11:11:01") && has("33:33:ff:00:00:01"));
    }
}
