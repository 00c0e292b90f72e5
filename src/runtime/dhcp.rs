//! The DHCPv6 service thread of `routelet run`.
//!
//! Workers punt DHCPv6 frames (UDP 547 on links that serve DHCPv6) into
//! a bounded channel and go on: a full channel drops the frame and counts
//! it (`queue_full`), so a worker never blocks. This thread is the only
//! owner of the leases, so no two workers can hand out one address and
//! the forwarding path takes no lock. It drains what the channel holds,
//! answers each frame in memory, makes all their lease records durable
//! with one journal commit (group commit), and only then sends the
//! replies, from a send-only packet socket per interface. Route changes
//! for delegated prefixes are applied after the commit too.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::dhcpv6::journal::Journal;
use crate::dhcpv6::server::{duid_ll, RouteChange, ServeConfig, Server};
use crate::dhcpv6::service::{LeaseLog, Service};
use crate::dhcpv6::store::{Lease, LeaseStore};
use crate::engine::CompiledConfig;
use crate::io::sys::{self, LinkFacts, PacketSocket, RingConfig, SocketFilter};

use super::Shared;

/// Frames waiting for the service; beyond this a punt is dropped. Deep
/// enough to ride out a slow fsync (tens of ms on a busy virtual disk)
/// at tens of thousands of messages per second; a frame is ~100-200
/// bytes, so at most a few MiB.
pub const QUEUE_FRAMES: usize = 32_768;

/// How often leases past their valid lifetime are removed (a scan of
/// the store).
const EXPIRY_SECS: u64 = 5;

/// Frames answered per journal commit at most.
const BATCH: usize = 512;

/// A frame a worker punted.
pub struct Punt {
    pub service: crate::engine::Service,
    pub iface: usize,
    pub frame: Vec<u8>,
}

/// The workers' end of the channel.
#[derive(Clone)]
pub struct PuntSender {
    tx: SyncSender<Punt>,
    dropped: Arc<AtomicU64>,
}

impl PuntSender {
    /// Hands a frame over without blocking; counts it if the queue is full.
    pub fn punt(&self, service: crate::engine::Service, iface: usize, frame: &[u8]) {
        let punt = Punt {
            service,
            iface,
            frame: frame.to_vec(),
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(punt) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The journal as the service's log.
impl LeaseLog for Journal {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        Journal::append(self, record).map_err(io::Error::other)
    }

    fn commit(&mut self) -> io::Result<()> {
        Journal::commit(self).map_err(io::Error::other)
    }

    fn wants_compaction(&self) -> bool {
        Journal::wants_compaction(self)
    }

    fn compact(&mut self, live: &[Vec<u8>]) -> io::Result<()> {
        Journal::compact(self, live.iter().map(|r| r.as_slice())).map_err(io::Error::other)
    }
}

/// What `show leases`, `lease release` and `show stats` read and do.
pub struct DhcpHandle {
    state: Mutex<Service<Journal>>,
    /// Frames dropped because the queue was full.
    pub queue_full: Arc<AtomicU64>,
    /// The PD client's counters, as of its last run.
    pub pd_counters: Mutex<Vec<(String, u64)>>,
}

impl DhcpHandle {
    /// Every lease, cloned (the service lock is held for the copy only).
    pub fn leases(&self) -> Vec<Lease> {
        match self.state.lock() {
            Ok(svc) => svc.store.iter().cloned().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Revokes the lease holding `target`, durably; the route of a
    /// delegated prefix goes with it.
    pub fn release(&self, shared: &Shared, target: &ipnet::Ipv6Net) -> io::Result<Option<Lease>> {
        let (lease, routes) = {
            let mut svc = self
                .state
                .lock()
                .map_err(|_| io::Error::other("DHCPv6 state lock poisoned"))?;
            let lease = svc.release(target)?;
            let (_, routes) = svc.commit();
            (lease, routes)
        };
        apply_routes(shared, &routes);
        Ok(lease)
    }

    /// Counters per interface name, plus the service's own.
    pub fn counters(&self, shared: &Shared) -> Vec<(String, Vec<(String, u64)>)> {
        let Ok(svc) = self.state.lock() else {
            return Vec::new();
        };
        let config = shared.config.load();
        let mut rows: Vec<(String, Vec<(String, u64)>)> = svc
            .counters()
            .iter()
            .enumerate()
            .filter(|(i, _)| svc.server.serve_config().serves(*i))
            .map(|(i, c)| {
                let name = config
                    .ifaces
                    .get(i)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                (
                    name,
                    c.0.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
                )
            })
            .collect();
        let c = svc.counters;
        rows.push((
            String::new(),
            vec![
                ("leases".into(), svc.store.len() as u64),
                ("journal_commits".into(), c.commits),
                ("journal_errors".into(), c.commit_errors),
                ("replies_withheld".into(), c.replies_withheld),
                ("compactions".into(), c.compactions),
                ("expired".into(), c.expired),
                ("queue_full".into(), self.queue_full.load(Ordering::Relaxed)),
            ],
        ));
        rows
    }
}

/// UNIX seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The server DUID: kept in `state_dir/server-duid` (hex); made the first
/// time from the MAC (DUID-LL) of the first tenant interface (else the
/// first interface): a router that starts without a DHCPv6 subnet and gets
/// one by `apply` still has a real one.
fn server_duid(state_dir: &Path, compiled: &CompiledConfig) -> io::Result<Vec<u8>> {
    let path = state_dir.join("server-duid");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let hex: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        if let Some(b) = bytes.filter(|b| (2..=130).contains(&b.len())) {
            return Ok(b);
        }
        tracing::warn!(path = %path.display(), "unreadable server DUID: making a new one");
    }
    let mac = compiled
        .ifaces
        .iter()
        .find(|i| !i.external)
        .or(compiled.ifaces.first())
        .map(|i| i.mac)
        .unwrap_or_default();
    let duid = duid_ll(mac);
    let text: String = duid.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = state_dir.join("server-duid.tmp");
    std::fs::write(&tmp, format!("{text}\n"))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(duid)
}

/// Opens the journal and recovers the leases: at start, so that an
/// unwritable or full state directory stops `run` with a clear error.
pub fn open(
    shared: &Shared,
    state_dir: &Path,
) -> Result<(Arc<DhcpHandle>, PuntSender, Receiver<Punt>), String> {
    let config = shared
        .source
        .lock()
        .map_err(|_| "config lock poisoned".to_string())?
        .clone();
    let compiled = shared.config.load();
    let serve = ServeConfig::build(&config, &compiled);
    let (journal, recovered) = Journal::open(state_dir).map_err(|e| e.to_string())?;
    if !recovered.note.is_empty() {
        tracing::warn!(note = %recovered.note, dropped_bytes = recovered.dropped_bytes, "lease journal recovered");
    }
    let now = unix_now();
    let (store, bad) = LeaseStore::recover(recovered.records.iter().map(|r| r.as_slice()), now);
    if bad > 0 {
        tracing::warn!(records = bad, "lease journal: unreadable records skipped");
    }
    let duid = server_duid(state_dir, &compiled)
        .map_err(|e| format!("{}: server DUID: {e}", state_dir.display()))?;
    tracing::info!(leases = store.len(), "DHCPv6 leases recovered");
    let service = Service::new(Server::new(duid, serve), store, journal);
    let routes = service.delegated_routes();
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_FRAMES);
    let queue_full = Arc::new(AtomicU64::new(0));
    let handle = Arc::new(DhcpHandle {
        state: Mutex::new(service),
        queue_full: Arc::clone(&queue_full),
        pd_counters: Mutex::new(Vec::new()),
    });
    apply_routes(shared, &routes);
    Ok((
        handle,
        PuntSender {
            tx,
            dropped: queue_full,
        },
        rx,
    ))
}

/// The send-only socket of an interface.
fn send_socket(facts: &LinkFacts) -> io::Result<PacketSocket> {
    let cfg = RingConfig {
        version: sys::RingVersion::V3,
        block_count: 1,
        block_size: 4096,
        filter: Some(SocketFilter::Nothing),
        ..RingConfig::default()
    };
    PacketSocket::open(facts, &cfg)
}

/// Adds and removes the routes of delegated prefixes (runtime routes, kept
/// across `apply`).
pub fn apply_routes(shared: &Shared, routes: &[RouteChange]) {
    if routes.is_empty() {
        return;
    }
    let config = shared.config.load();
    let Ok(mut table) = shared.runtime_routes.lock() else {
        return;
    };
    for change in routes {
        match change {
            RouteChange::Add { prefix, via, iface } => {
                let Some(i) = config.iface_by_name(iface) else {
                    continue;
                };
                let dest = ipnet::IpNet::V6(*prefix);
                table.retain(|(d, _)| *d != dest);
                table.push((
                    dest,
                    crate::route::NextHop::Gateway {
                        addr: std::net::IpAddr::V6(*via),
                        iface: i.id,
                    },
                ));
                tracing::info!(%prefix, %via, interface = %iface, "route to delegated prefix");
            }
            RouteChange::Del { prefix } => {
                let dest = ipnet::IpNet::V6(*prefix);
                table.retain(|(d, _)| *d != dest);
                tracing::info!(%prefix, "route to delegated prefix removed");
            }
        }
    }
    drop(table);
    if let Err(e) = super::control::republish(shared) {
        tracing::warn!(error = %e, "delegated prefix routes: FIB not republished");
    }
}

/// The service thread: runs until `shared.stop`.
pub fn run(
    shared: Arc<Shared>,
    handle: Arc<DhcpHandle>,
    rx: Receiver<Punt>,
    state_dir: Option<std::path::PathBuf>,
) {
    let mut sockets: Vec<Option<PacketSocket>> = shared
        .links
        .iter()
        .map(|facts| match send_socket(facts) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(interface = %facts.name, error = %e, "DHCPv6: no send socket");
                None
            }
        })
        .collect();
    let mut pd = state_dir.and_then(|dir| super::pd::PdDriver::open(&shared, &dir));
    let mut generation = shared.generation.load(Ordering::Acquire);
    let mut last_expiry = 0u64;
    let mut batch: Vec<Punt> = Vec::with_capacity(BATCH);
    while !shared.stop.load(Ordering::Acquire) {
        let wait = pd.as_ref().map_or(Duration::from_millis(500), |p| {
            p.timeout(&shared, Duration::from_millis(500))
        });
        match rx.recv_timeout(wait) {
            Ok(p) => batch.push(p),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let now = unix_now();
        let current = shared.generation.load(Ordering::Acquire);
        let mut client_frames: Vec<Punt> = Vec::new();
        let (replies, mut routes) = {
            let Ok(mut svc) = handle.state.lock() else {
                break;
            };
            if current != generation {
                generation = current;
                let source = shared.source.lock().map(|s| s.clone());
                if let Ok(source) = source {
                    let running = super::running_config(&shared, &source);
                    let serve = ServeConfig::build(&running, &shared.config.load());
                    svc.server.replace_config(serve);
                }
            }
            for p in batch.drain(..) {
                match p.service {
                    crate::engine::Service::Dhcpv6 => svc.handle_frame(p.iface, &p.frame, now),
                    crate::engine::Service::Dhcpv6Client => client_frames.push(p),
                }
            }
            let mut expired = Vec::new();
            if now >= last_expiry + EXPIRY_SECS {
                last_expiry = now;
                expired = svc.expire(now);
            }
            let (replies, mut routes) = svc.commit();
            routes.extend(expired);
            (replies, routes)
        };
        // One sendmmsg per interface for the whole batch of replies.
        for (i, socket) in sockets.iter_mut().enumerate() {
            let Some(s) = socket else { continue };
            let mut frames = replies
                .iter()
                .filter(|r| r.iface == i)
                .map(|r| r.frame.as_slice())
                .peekable();
            if frames.peek().is_none() {
                continue;
            }
            if let Err(e) = s.send_batch(frames) {
                tracing::warn!(error = %e, "DHCPv6: send failed");
            }
        }
        routes.dedup();
        apply_routes(&shared, &routes);
        if let Some(pd) = pd.as_mut() {
            for p in client_frames.drain(..) {
                if p.iface == pd.iface {
                    pd.on_frame(&shared, &p.frame);
                }
            }
            let socket = sockets.get_mut(pd.iface).and_then(Option::as_mut);
            pd.tick(&shared, socket);
            if let Ok(mut c) = handle.pd_counters.lock() {
                *c = pd.counters();
            }
        }
    }
    tracing::debug!("DHCPv6 service stopped");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A router that starts without any DHCPv6 subnet (as the lab does,
    /// before `apply`) still gets the DUID-LL of its tenant interface, and
    /// keeps it across restarts.
    #[test]
    fn the_server_duid_is_the_tenant_interfaces_and_stays() {
        let config =
            crate::config::Config::from_toml_str(include_str!("../../examples/slaac.toml"))
                .unwrap();
        let links = crate::engine::LinkInfo::synthetic(&config);
        let compiled = CompiledConfig::build(&config, &links).unwrap();
        let dir = std::env::temp_dir().join(format!("routelet-duid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let duid = server_duid(&dir, &compiled).unwrap();
        let qr0 = compiled.ifaces.iter().find(|i| !i.external).unwrap().mac;
        assert_eq!(duid, duid_ll(qr0));
        assert_ne!(qr0.0, [0; 6]);
        std::fs::write(dir.join("server-duid"), "000300010a0b0c0d0e0f\n").unwrap();
        assert_eq!(
            server_duid(&dir, &compiled).unwrap(),
            [0, 3, 0, 1, 10, 11, 12, 13, 14, 15]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
