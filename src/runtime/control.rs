//! The control socket's backend for a running router: `status`, `show`,
//! `apply` (validate, compile, swap atomically or change nothing) and
//! runtime routes (kept across `apply`, republished as a new FIB).

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use crate::config::Config;
use crate::control::model::{
    ApplyOutcome, ConfigView, InterfaceRow, NeighborRow, RestartRequired, RouteRow, StatsRow,
    Status, SubnetRow,
};
use crate::control::{Backend, ControlError, Listing, ShowWhat};
use crate::engine::{CompiledConfig, IfaceId, IfaceStats};
use crate::route::{NextHop, Rib, RouteSource};

use super::Shared;

/// How long `show` waits for the workers' snapshots.
const SNAPSHOT_WAIT: Duration = Duration::from_millis(500);

/// Workers rebuild their `show` snapshots at most this often, however
/// many clients ask: a request within it reads the last ones.
const SNAPSHOT_MIN_INTERVAL: Duration = Duration::from_millis(50);

/// The settings `routelet run` reads once at start: the control socket it
/// binds, the worker threads it spawns and the packet rings they open.
/// An `apply` cannot change them in place; [`keep_restart_only_settings`]
/// keeps their running values in the applied config (so `show config`
/// tells the truth) and reports each change as needing a restart.
///
/// Returns one [`RestartRequired`] per key whose value `new` changes, and
/// sets that key in `new` back to `running`'s value. `running_workers` is
/// the number of workers actually running (`--workers` or the core count
/// may have decided it), which the note reports.
pub fn keep_restart_only_settings(
    running: &Config,
    new: &mut Config,
    running_workers: usize,
) -> Vec<RestartRequired> {
    let mut notes = Vec::new();
    // The socket: the effective path counts (a renamed router without
    // `control_socket` would move to another default path).
    let running_socket = crate::control::client::socket_path_for(running);
    let new_socket = crate::control::client::socket_path_for(new);
    if running_socket != new_socket {
        notes.push(RestartRequired {
            key: "router.control_socket".into(),
            running: one_line(&running_socket.display().to_string()),
            requested: one_line(&new_socket.display().to_string()),
        });
        new.router.control_socket = Some(running_socket);
    }
    if running.router.workers != new.router.workers {
        notes.push(RestartRequired {
            key: "router.workers".into(),
            running: running_workers.to_string(),
            requested: new
                .router
                .workers
                .map_or_else(|| "absent (one per core)".into(), |w| w.to_string()),
        });
        new.router.workers = running.router.workers;
    }
    if running.router.io != new.router.io {
        notes.push(RestartRequired {
            key: "router.io".into(),
            running: one_line(&running.router.io),
            requested: one_line(&new.router.io),
        });
        new.router.io = running.router.io;
    }
    notes
}

/// A value as one line of TOML for [`RestartRequired`]: `"text"`, `2`,
/// or a table's `key = value` pairs joined by commas.
fn one_line<T: serde::Serialize>(value: &T) -> String {
    #[derive(serde::Serialize)]
    struct Wrap<'a, T: serde::Serialize> {
        v: &'a T,
    }
    match toml::to_string(&Wrap { v: value }) {
        Ok(text) => match text.strip_prefix("v = ") {
            Some(plain) => plain.trim_end().to_string(),
            // A table comes as `[v]` and its keys.
            None => text
                .lines()
                .skip(1)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
        },
        Err(e) => format!("<{e}>"),
    }
}

/// The backend over the runtime's shared state.
pub struct RuntimeBackend {
    shared: Arc<Shared>,
    /// When the workers were last asked for snapshots.
    last_snapshot: std::sync::Mutex<Option<std::time::Instant>>,
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ControlError> {
    serde_json::to_value(v).map_err(|e| ControlError::internal(e.to_string()))
}

impl RuntimeBackend {
    pub fn new(shared: Arc<Shared>) -> RuntimeBackend {
        RuntimeBackend {
            shared,
            last_snapshot: std::sync::Mutex::new(None),
        }
    }

    /// Asks every worker for a fresh snapshot, waits (bounded) for it, and
    /// returns `take` of each. `take` runs under the snapshot's lock, so it
    /// copies only what the caller needs (a worker publishing waits for
    /// that lock). Workers are asked at most once per
    /// [`SNAPSHOT_MIN_INTERVAL`]: a client asking in a loop cannot make
    /// them rebuild their tables more often than that.
    fn snapshots_with<T>(&self, mut take: impl FnMut(&super::worker::Snapshot) -> T) -> Vec<T> {
        let epoch = {
            let mut last = self
                .last_snapshot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = std::time::Instant::now();
            match *last {
                Some(at) if now.saturating_duration_since(at) < SNAPSHOT_MIN_INTERVAL => {
                    self.shared.snapshot_epoch.load(Ordering::Acquire)
                }
                _ => {
                    *last = Some(now);
                    let epoch = self.shared.snapshot_epoch.fetch_add(1, Ordering::AcqRel) + 1;
                    self.shared.wake_all();
                    epoch
                }
            }
        };
        let deadline = std::time::Instant::now() + SNAPSHOT_WAIT;
        loop {
            let fresh = self
                .shared
                .snapshots
                .iter()
                .all(|s| s.lock().map(|s| s.epoch >= epoch).unwrap_or(true));
            if fresh || std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.shared
            .snapshots
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| take(&s)))
            .collect()
    }

    /// Every worker's whole snapshot (for `show stats`).
    fn snapshots(&self) -> Vec<super::worker::Snapshot> {
        self.snapshots_with(Clone::clone)
    }

    /// `show neighbors`: every worker's table merged.
    fn neighbor_rows(&self) -> Vec<NeighborRow> {
        // Each worker learns every neighbor (see the runtime's module
        // doc); worker 0's view is complete, others add entries still
        // resolving on their side.
        NeighborRow::merge(self.snapshots_with(|s| s.neighbors.clone()))
    }

    /// `show routes`: the RIB with runtime routes.
    fn route_rows(&self) -> Result<Vec<RouteRow>, ControlError> {
        let config = self.shared.config.load_full();
        let rib = self.rib_with_runtime(&config)?;
        Ok(rib
            .routes()
            .iter()
            .map(|info| RouteRow::from_info(info, |id| Self::iface_name(&config, id)))
            .collect())
    }

    fn iface_name(config: &CompiledConfig, id: IfaceId) -> Option<String> {
        config.iface(id).map(|i| i.name.clone())
    }

    /// The RIB the workers should run: the config's plus runtime routes.
    fn rib_with_runtime(&self, config: &CompiledConfig) -> Result<Rib, ControlError> {
        rib_with_runtime(&self.shared, config)
    }

    /// Where each prefix-delegation subnet's /64 came from, and what is
    /// being renumbered away.
    fn add_delegation(&self, rows: &mut [SubnetRow]) {
        let Ok(d) = self.shared.delegation.lock() else {
            return;
        };
        let source = match self.shared.source.lock() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        let now = super::pd::now(&self.shared);
        for row in rows.iter_mut() {
            let is_pd = source
                .subnets
                .iter()
                .any(|s| s.name == row.name && s.use_prefix_delegation);
            if !is_pd {
                continue;
            }
            let iface = row.interface.clone().unwrap_or_default();
            row.delegation = Some(crate::control::model::DelegationInfo {
                delegated: d.binding.as_ref().map(|b| b.prefix.to_string()),
                server: d
                    .binding
                    .as_ref()
                    .map(|b| crate::control::model::duid_text(&b.server_id)),
                preferred_secs: d
                    .binding
                    .as_ref()
                    .and_then(|b| b.preferred_remaining(now))
                    .map(|t| t.as_secs()),
                valid_secs: d
                    .binding
                    .as_ref()
                    .and_then(|b| b.valid_remaining(now))
                    .map(|t| t.as_secs()),
                deprecated: d
                    .renumbering
                    .deprecated
                    .iter()
                    .filter(|p| p.iface == iface && p.valid_until > now)
                    .map(|p| {
                        format!(
                            "{} (valid {}s)",
                            p.prefix,
                            p.valid_until.saturating_since(now).as_secs()
                        )
                    })
                    .collect(),
            });
        }
    }

    /// Every DHCPv6 lease, as rows.
    fn lease_rows(&self) -> Vec<crate::control::model::LeaseRow> {
        let now = super::dhcp::unix_now();
        self.shared
            .dhcp
            .get()
            .map(|d| {
                d.leases()
                    .iter()
                    .map(|l| crate::control::model::LeaseRow::from_lease(l, now))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Recompiles the FIB of the running config with the runtime routes.
    fn republish_fib(&self) -> Result<(), ControlError> {
        republish(&self.shared)
    }
}

/// `config`'s RIB plus the runtime routes (those of `ctl route add` and of
/// delegated prefixes).
pub fn rib_with_runtime(shared: &Shared, config: &CompiledConfig) -> Result<Rib, ControlError> {
    let mut rib = config.rib.clone();
    let routes = shared
        .runtime_routes
        .lock()
        .map_err(|_| ControlError::internal("route table lock poisoned"))?;
    for (dest, hop) in routes.iter() {
        rib.insert(RouteSource::Runtime, *dest, *hop)
            .map_err(|e| ControlError::bad_request(e.to_string()))?;
    }
    Ok(rib)
}

/// Recompiles the running config's FIB with the runtime routes and wakes
/// the workers.
pub fn republish(shared: &Shared) -> Result<(), ControlError> {
    let config = shared.config.load_full();
    config
        .fib
        .store(rib_with_runtime(shared, &config)?.compile());
    shared.wake_all();
    Ok(())
}

impl Backend for RuntimeBackend {
    fn status(&self) -> Result<Value, ControlError> {
        let config = self.shared.config.load();
        to_value(&Status {
            router: config.router_name.clone(),
            pid: std::process::id(),
            uptime_secs: self.shared.started.elapsed().as_secs(),
            workers: self.shared.workers,
            interfaces: config.ifaces.len(),
            config_generation: self.shared.generation.load(Ordering::Acquire),
        })
    }

    fn show(&self, what: ShowWhat) -> Result<Value, ControlError> {
        let config = self.shared.config.load_full();
        match what {
            ShowWhat::Interfaces => {
                let rows: Vec<InterfaceRow> = config
                    .ifaces
                    .iter()
                    .zip(self.shared.links.iter())
                    .map(|(i, l)| InterfaceRow {
                        name: i.name.clone(),
                        ifindex: l.ifindex,
                        mac: i.mac.to_string(),
                        mtu: i.mtu,
                        link_local: Some(i.link_local.to_string()),
                        addresses: i
                            .ipv6
                            .iter()
                            .map(|a| a.to_string())
                            .chain(i.ipv4.iter().map(|a| a.to_string()))
                            .collect(),
                        external: i.external,
                        ra: i.ra.is_some(),
                    })
                    .collect();
                to_value(&rows)
            }
            ShowWhat::Subnets => {
                let source = self
                    .shared
                    .source
                    .lock()
                    .map_err(|_| ControlError::internal("config lock poisoned"))?;
                let running = super::running_config(&self.shared, &source);
                drop(source);
                let mut rows = SubnetRow::all_from_config(&running);
                self.add_delegation(&mut rows);
                to_value(&rows)
            }
            ShowWhat::Routes => to_value(&self.route_rows()?),
            ShowWhat::Neighbors => to_value(&self.neighbor_rows()),
            ShowWhat::Leases => to_value(&self.lease_rows()),
            ShowWhat::Stats => {
                let n = config.ifaces.len();
                let mut total: Vec<IfaceStats> = vec![IfaceStats::default(); n];
                let mut ring_drops = vec![super::worker::RingDrops::default(); n];
                for snap in self.snapshots() {
                    for (t, s) in total.iter_mut().zip(snap.stats.iter()) {
                        t.merge(s);
                    }
                    for (t, d) in ring_drops.iter_mut().zip(snap.ring_drops.iter()) {
                        t.add(d);
                    }
                }
                let mut rows: Vec<StatsRow> = config
                    .ifaces
                    .iter()
                    .zip(total.iter().zip(ring_drops.iter()))
                    .map(|(i, (s, drops))| {
                        let mut row = StatsRow::from_stats(&i.name, s);
                        row.set_ring_drops(drops.main, drops.neighbor);
                        row
                    })
                    .collect();
                if let Some(dhcp) = self.shared.dhcp.get() {
                    for (iface, counters) in dhcp.counters(&self.shared) {
                        rows.push(StatsRow::for_service("dhcpv6-server", &iface, &counters));
                    }
                    let pd = dhcp
                        .pd_counters
                        .lock()
                        .map(|c| c.clone())
                        .unwrap_or_default();
                    if !pd.is_empty() {
                        let iface = config
                            .ifaces
                            .iter()
                            .find(|i| i.pd_client)
                            .map(|i| i.name.clone())
                            .unwrap_or_default();
                        rows.push(StatsRow::for_service("dhcpv6-pd-client", &iface, &pd));
                    }
                }
                to_value(&rows)
            }
            ShowWhat::Config => {
                let source = self
                    .shared
                    .source
                    .lock()
                    .map_err(|_| ControlError::internal("config lock poisoned"))?;
                let view = ConfigView::from_config(
                    self.shared.generation.load(Ordering::Acquire),
                    &source,
                )
                .map_err(ControlError::internal)?;
                to_value(&view)
            }
            other => Err(ControlError::not_supported(format!(
                "show {other:?} is not available yet"
            ))),
        }
    }

    fn show_listing(&self, what: ShowWhat) -> Result<Listing, ControlError> {
        match what {
            ShowWhat::Neighbors => Ok(Listing::Rows(Box::new(self.neighbor_rows()))),
            ShowWhat::Routes => Ok(Listing::Rows(Box::new(self.route_rows()?))),
            ShowWhat::Leases => Ok(Listing::Rows(Box::new(self.lease_rows()))),
            other => self.show(other).map(Listing::Value),
        }
    }

    fn apply(&self, config_text: &str) -> Result<Value, ControlError> {
        let mut config = Config::from_toml_str(config_text).map_err(ControlError::from)?;
        let restart_required = {
            let running = self
                .shared
                .source
                .lock()
                .map_err(|_| ControlError::internal("config lock poisoned"))?;
            keep_restart_only_settings(&running, &mut config, self.shared.workers)
        };
        let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
        let running: Vec<&str> = self.shared.links.iter().map(|l| l.name.as_str()).collect();
        if names != running {
            return Err(ControlError::invalid_config(format!(
                "interfaces cannot change live (running: {}; new: {}); restart routelet",
                running.join(", "),
                names.join(", ")
            )));
        }
        let compiled = super::compile_running(&self.shared, &config)
            .map_err(|e| ControlError::invalid_config(e.to_string()))?;
        let rib = self.rib_with_runtime(&compiled)?;
        compiled.fib.store(rib.compile());
        let mut source = self
            .shared
            .source
            .lock()
            .map_err(|_| ControlError::internal("config lock poisoned"))?;
        self.shared.config.store(Arc::new(compiled));
        let generation = self.shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *source = config;
        drop(source);
        self.shared.wake_all();
        for r in &restart_required {
            tracing::warn!(
                key = %r.key,
                running = %r.running,
                requested = %r.requested,
                "applied config changes a setting that needs a restart; keeping the running value"
            );
        }
        tracing::info!(generation, "config applied");
        to_value(&ApplyOutcome {
            config_generation: generation,
            restart_required,
        })
    }

    fn route_add(
        &self,
        destination: IpNet,
        nexthop: IpAddr,
        dev: Option<&str>,
    ) -> Result<Value, ControlError> {
        let config = self.shared.config.load_full();
        let hop = match dev {
            Some(name) => {
                let iface = config
                    .iface_by_name(name)
                    .ok_or_else(|| ControlError::bad_request(format!("no interface \"{name}\"")))?;
                NextHop::Gateway {
                    addr: nexthop,
                    iface: iface.id,
                }
            }
            None => NextHop::Recursive(nexthop),
        };
        // Check it compiles into the RIB before keeping it.
        let mut rib = self.rib_with_runtime(&config)?;
        rib.insert(RouteSource::Runtime, destination, hop)
            .map_err(|e| ControlError::bad_request(e.to_string()))?;
        {
            let mut routes = self
                .shared
                .runtime_routes
                .lock()
                .map_err(|_| ControlError::internal("route table lock poisoned"))?;
            routes.retain(|(d, _)| *d != destination);
            routes.push((destination, hop));
        }
        self.republish_fib()?;
        tracing::info!(%destination, %nexthop, "runtime route added");
        Ok(serde_json::json!({ "added": destination.to_string() }))
    }

    fn lease_release(&self, target: IpNet) -> Result<Value, ControlError> {
        let IpNet::V6(target) = target else {
            return Err(ControlError::bad_request(format!(
                "{target} is not an IPv6 address or prefix"
            )));
        };
        let dhcp = self
            .shared
            .dhcp
            .get()
            .ok_or_else(|| ControlError::not_supported("this router runs no DHCPv6 server"))?;
        match dhcp.release(&self.shared, &target) {
            Ok(Some(lease)) => {
                let shown = match lease.kind {
                    crate::dhcpv6::store::LeaseKind::Address => lease.prefix.addr().to_string(),
                    crate::dhcpv6::store::LeaseKind::Prefix => lease.prefix.to_string(),
                };
                tracing::info!(lease = %shown, "lease released by the operator");
                Ok(serde_json::json!({
                    "released": shown,
                    "client": crate::control::model::duid_text(&lease.duid),
                }))
            }
            Ok(None) => Err(ControlError::bad_request(format!(
                "no lease holds {}",
                if target.prefix_len() == 128 {
                    target.addr().to_string()
                } else {
                    target.to_string()
                }
            ))),
            Err(e) => Err(ControlError::internal(format!(
                "the lease journal could not record the release: {e}"
            ))),
        }
    }

    fn route_del(&self, destination: IpNet) -> Result<Value, ControlError> {
        {
            let mut routes = self
                .shared
                .runtime_routes
                .lock()
                .map_err(|_| ControlError::internal("route table lock poisoned"))?;
            let before = routes.len();
            routes.retain(|(d, _)| *d != destination);
            if routes.len() == before {
                return Err(ControlError::bad_request(format!(
                    "no runtime route to {destination} (config routes change with apply)"
                )));
            }
        }
        self.republish_fib()?;
        tracing::info!(%destination, "runtime route removed");
        Ok(serde_json::json!({ "removed": destination.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    const BASE: &str = "[router]\nname = \"r1\"\n\n[[interface]]\nname = \"qr0\"\n";

    fn config(router_extra: &str) -> Config {
        Config::from_toml_str(
            &BASE.replace("name = \"r1\"\n", &format!("name = \"r1\"\n{router_extra}")),
        )
        .unwrap()
    }

    #[test]
    fn unchanged_restart_settings_need_no_restart() {
        let running = config("workers = 2\n");
        let mut new = config("workers = 2\n");
        assert_eq!(keep_restart_only_settings(&running, &mut new, 2), []);
        assert_eq!(new, running);
    }

    #[test]
    fn workers_note_reports_the_running_count() {
        // Started without `workers` (one per core: 2 here); the new config
        // asks for 3.
        let running = config("");
        let mut new = config("workers = 3\n");
        let notes = keep_restart_only_settings(&running, &mut new, 2);
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].running.as_str(), notes[0].requested.as_str()),
            ("2", "3")
        );
        assert_eq!(new.router.workers, None);
    }

    #[test]
    fn restart_settings_keep_running_values_and_are_reported() {
        let running = config("workers = 2\n");
        let mut new = config(
            "workers = 4\ncontrol_socket = \"/run/routelet/other.sock\"\n[router.io]\nrx_ring = \"v2\"\n",
        );
        let notes = keep_restart_only_settings(&running, &mut new, 2);
        let keys: Vec<&str> = notes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(
            keys,
            ["router.control_socket", "router.workers", "router.io"]
        );
        assert_eq!(notes[0].running, "\"/run/routelet/r1.sock\"");
        assert_eq!(notes[0].requested, "\"/run/routelet/other.sock\"");
        assert_eq!(
            (notes[1].running.as_str(), notes[1].requested.as_str()),
            ("2", "4")
        );
        assert!(
            notes[2].requested.contains("rx_ring = \"v2\""),
            "{}",
            notes[2].requested
        );
        assert!(
            notes[2].running.contains("rx_ring = \"v3\""),
            "{}",
            notes[2].running
        );
        // What show config shows afterwards: the running values.
        assert_eq!(new.router.workers, Some(2));
        assert_eq!(new.router.io, running.router.io);
        assert_eq!(
            crate::control::client::socket_path_for(&new),
            crate::control::client::socket_path_for(&running)
        );
    }

    #[test]
    fn renaming_the_router_keeps_its_socket() {
        let running = config("");
        let mut new = Config::from_toml_str(&BASE.replace("r1", "r2")).unwrap();
        let notes = keep_restart_only_settings(&running, &mut new, 1);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].key, "router.control_socket");
        assert_eq!(new.router.name, "r2");
        assert_eq!(
            new.router.control_socket.as_deref(),
            Some(std::path::Path::new("/run/routelet/r1.sock"))
        );
    }
}
