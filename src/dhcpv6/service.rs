//! The DHCPv6 service: punted frames in, reply frames out once their
//! leases are durable.
//!
//! Group commit: [`Service::handle_frame`] answers a frame in memory and
//! queues its journal records and its reply; [`Service::commit`] makes
//! every queued record durable with one write + fdatasync and only then
//! releases the queued replies. A failed commit releases none of them
//! (the clients retransmit; nothing they were told is missing from disk).
//! The runtime calls `handle_frame` for every frame it has at hand, then
//! `commit` once; `replay` commits after each frame.

use crate::wire::dhcpv6;

use super::frame;
use super::server::{Counters, Incoming, Outcome, RouteChange, Server};
use super::store::{Lease, LeaseStore, Record};

/// Where lease records go: the journal in `run`, memory in `replay` and
/// tests.
pub trait LeaseLog {
    /// Queues a record.
    fn append(&mut self, record: &[u8]) -> std::io::Result<()>;
    /// Makes every queued record durable.
    fn commit(&mut self) -> std::io::Result<()>;
    /// Whether the log wants a compaction (with the live records).
    fn wants_compaction(&self) -> bool {
        false
    }
    /// Replaces the log by `live`.
    fn compact(&mut self, _live: &[Vec<u8>]) -> std::io::Result<()> {
        Ok(())
    }
}

/// A log that keeps records in memory (replay, tests).
#[derive(Debug, Default)]
pub struct MemoryLog {
    pub committed: Vec<Vec<u8>>,
    pending: Vec<Vec<u8>>,
    /// Make the next commits fail (tests of the no-reply-without-disk rule).
    pub fail: bool,
}

impl LeaseLog for MemoryLog {
    fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        self.pending.push(record.to_vec());
        Ok(())
    }

    fn commit(&mut self) -> std::io::Result<()> {
        if self.fail {
            self.pending.clear();
            return Err(std::io::Error::other("injected failure"));
        }
        self.committed.append(&mut self.pending);
        Ok(())
    }
}

/// A frame to send on a router interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame {
    pub iface: usize,
    pub frame: Vec<u8>,
}

/// Counters of the service itself (beside the server's per interface).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceCounters {
    pub commits: u64,
    pub commit_errors: u64,
    /// Replies withheld because their records did not reach the disk.
    pub replies_withheld: u64,
    pub compactions: u64,
    pub expired: u64,
}

/// The server, its leases and its log.
pub struct Service<L: LeaseLog> {
    pub server: Server,
    pub store: LeaseStore,
    pub log: L,
    queued: Vec<OutFrame>,
    routes: Vec<RouteChange>,
    dirty: bool,
    pub counters: ServiceCounters,
    /// Take UDP checksums left partial (see [`frame::parse`]): `replay`.
    pub accept_partial_checksums: bool,
}

impl<L: LeaseLog> Service<L> {
    /// A service over a recovered store.
    pub fn new(server: Server, store: LeaseStore, log: L) -> Service<L> {
        Service {
            server,
            store,
            log,
            queued: Vec::new(),
            routes: Vec::new(),
            dirty: false,
            counters: ServiceCounters::default(),
            accept_partial_checksums: false,
        }
    }

    /// Handles one punted frame that arrived on interface `iface` at
    /// `now` (UNIX seconds): its reply and records are queued for
    /// [`Service::commit`].
    pub fn handle_frame(&mut self, iface: usize, bytes: &[u8], now: u64) {
        let dgram = match frame::parse(bytes, dhcpv6::SERVER_PORT, self.accept_partial_checksums) {
            Ok(d) => d,
            Err(reason) => {
                self.server.count(iface, reason);
                return;
            }
        };
        if !dgram.from_link_local() && dgram.src_port == dhcpv6::CLIENT_PORT {
            self.server.count(iface, "rx_global_source");
        }
        let incoming = Incoming {
            iface,
            src_mac: dgram.src_mac,
            src_ip: dgram.src_ip,
            multicast: dgram.dst_ip.is_multicast(),
            payload: dgram.payload,
        };
        let outcome = self.server.handle(&mut self.store, &incoming, now);
        let Outcome {
            reply,
            to_relay,
            records,
            routes,
        } = outcome;
        for r in &records {
            if let Err(e) = self.log.append(&r.encode()) {
                tracing::warn!(error = %e, "lease journal: append failed");
            }
            self.dirty = true;
        }
        self.routes.extend(routes);
        let Some(payload) = reply else { return };
        let Some((mac, link_local, global)) = self.server.serve_config().iface_addrs(iface) else {
            return;
        };
        let (src_ip, dst_port) = if to_relay {
            let src = if dgram.dst_ip.is_multicast() {
                global.unwrap_or(link_local)
            } else {
                dgram.dst_ip
            };
            (src, dhcpv6::SERVER_PORT)
        } else {
            (link_local, dhcpv6::CLIENT_PORT)
        };
        self.queued.push(OutFrame {
            iface,
            frame: frame::build(
                mac,
                dgram.src_mac,
                src_ip,
                dgram.src_ip,
                dhcpv6::SERVER_PORT,
                dst_port,
                &payload,
            ),
        });
    }

    /// Makes the queued records durable, then hands back the replies they
    /// cover and the route changes to apply; on a failed commit, no reply.
    pub fn commit(&mut self) -> (Vec<OutFrame>, Vec<RouteChange>) {
        let replies = std::mem::take(&mut self.queued);
        let routes = std::mem::take(&mut self.routes);
        if !self.dirty {
            return (replies, routes);
        }
        self.dirty = false;
        match self.log.commit() {
            Ok(()) => {
                self.counters.commits += 1;
                if self.log.wants_compaction() {
                    let live = self.store.snapshot();
                    match self.log.compact(&live) {
                        Ok(()) => self.counters.compactions += 1,
                        Err(e) => tracing::warn!(error = %e, "lease journal: compaction failed"),
                    }
                }
                (replies, routes)
            }
            Err(e) => {
                self.counters.commit_errors += 1;
                self.counters.replies_withheld += replies.len() as u64;
                tracing::warn!(error = %e, withheld = replies.len(), "lease journal: commit failed; replies withheld");
                (Vec::new(), routes)
            }
        }
    }

    /// Ends leases whose valid lifetime passed; returns their routes to
    /// remove. Their removal is journaled (not urgent: recovery drops
    /// expired leases anyway).
    pub fn expire(&mut self, now: u64) -> Vec<RouteChange> {
        let gone: Vec<Lease> = self.store.expire(now);
        let mut routes = Vec::new();
        for l in gone {
            self.counters.expired += 1;
            let _ = self.log.append(&Record::Del { prefix: l.prefix }.encode());
            self.dirty = true;
            if l.via.is_some() {
                routes.push(RouteChange::Del { prefix: l.prefix });
            }
        }
        routes
    }

    /// Revokes the lease of `addr` (an address, or any address of a
    /// delegated prefix), durably; returns it.
    pub fn release(&mut self, target: &ipnet::Ipv6Net) -> std::io::Result<Option<Lease>> {
        let lease = match self.store.get(target) {
            Some(l) => Some(l.clone()),
            None => self.store.find_containing(target.addr()).cloned(),
        };
        let Some(lease) = lease else { return Ok(None) };
        self.store.remove(&lease.prefix);
        self.log.append(
            &Record::Del {
                prefix: lease.prefix,
            }
            .encode(),
        )?;
        self.log.commit()?;
        if lease.via.is_some() {
            self.routes.push(RouteChange::Del {
                prefix: lease.prefix,
            });
        }
        Ok(Some(lease))
    }

    /// The routes every live delegated prefix needs (after a restart).
    pub fn delegated_routes(&self) -> Vec<RouteChange> {
        self.store
            .iter()
            .filter_map(|l| {
                Some(RouteChange::Add {
                    prefix: l.prefix,
                    via: l.via?,
                    iface: l.iface.clone(),
                })
            })
            .collect()
    }

    /// The server's counters per interface index.
    pub fn counters(&self) -> &[Counters] {
        self.server.counters()
    }
}
