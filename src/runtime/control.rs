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
    Applied, ConfigView, InterfaceRow, NeighborRow, RouteRow, StatsRow, Status, SubnetRow,
};
use crate::control::{Backend, ControlError, ShowWhat};
use crate::engine::{CompiledConfig, IfaceId, IfaceStats};
use crate::route::{NextHop, Rib, RouteSource};

use super::{link_infos, Shared};

/// How long `show` waits for the workers' snapshots.
const SNAPSHOT_WAIT: Duration = Duration::from_millis(500);

/// The backend over the runtime's shared state.
pub struct RuntimeBackend {
    shared: Arc<Shared>,
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ControlError> {
    serde_json::to_value(v).map_err(|e| ControlError::internal(e.to_string()))
}

impl RuntimeBackend {
    pub fn new(shared: Arc<Shared>) -> RuntimeBackend {
        RuntimeBackend { shared }
    }

    /// Asks every worker for a fresh snapshot and waits (bounded) for it.
    fn snapshots(&self) -> Vec<super::worker::Snapshot> {
        let epoch = self.shared.snapshot_epoch.fetch_add(1, Ordering::AcqRel) + 1;
        self.shared.wake_all();
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
            .filter_map(|s| s.lock().ok().map(|s| s.clone()))
            .collect()
    }

    fn iface_name(config: &CompiledConfig, id: IfaceId) -> Option<String> {
        config.iface(id).map(|i| i.name.clone())
    }

    /// The RIB the workers should run: the config's plus runtime routes.
    fn rib_with_runtime(&self, config: &CompiledConfig) -> Result<Rib, ControlError> {
        let mut rib = config.rib.clone();
        let routes = self
            .shared
            .runtime_routes
            .lock()
            .map_err(|_| ControlError::internal("route table lock poisoned"))?;
        for (dest, hop) in routes.iter() {
            rib.insert(RouteSource::Runtime, *dest, *hop)
                .map_err(|e| ControlError::bad_request(e.to_string()))?;
        }
        Ok(rib)
    }

    /// Recompiles the FIB of the running config with the runtime routes.
    fn republish_fib(&self) -> Result<(), ControlError> {
        let config = self.shared.config.load_full();
        let rib = self.rib_with_runtime(&config)?;
        config.fib.store(rib.compile());
        self.shared.wake_all();
        Ok(())
    }
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
                to_value(&SubnetRow::all_from_config(&source))
            }
            ShowWhat::Routes => {
                let rib = self.rib_with_runtime(&config)?;
                let rows: Vec<RouteRow> = rib
                    .routes()
                    .iter()
                    .map(|info| RouteRow::from_info(info, |id| Self::iface_name(&config, id)))
                    .collect();
                to_value(&rows)
            }
            ShowWhat::Neighbors => {
                // Each worker learns every neighbor (see the runtime's
                // module doc); worker 0's view is complete, others add
                // entries still resolving on their side.
                let mut rows: Vec<NeighborRow> = Vec::new();
                for snap in self.snapshots() {
                    for row in snap.neighbors {
                        if !rows
                            .iter()
                            .any(|r| r.iface == row.iface && r.addr == row.addr)
                        {
                            rows.push(row);
                        }
                    }
                }
                rows.sort_by(|a, b| {
                    (&a.iface, &a.family, &a.addr).cmp(&(&b.iface, &b.family, &b.addr))
                });
                to_value(&rows)
            }
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
                let rows: Vec<StatsRow> = config
                    .ifaces
                    .iter()
                    .zip(total.iter().zip(ring_drops.iter()))
                    .map(|(i, (s, drops))| {
                        let mut row = StatsRow::from_stats(&i.name, s);
                        row.set_ring_drops(drops.main, drops.neighbor);
                        row
                    })
                    .collect();
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

    fn apply(&self, config_text: &str) -> Result<Value, ControlError> {
        let config = Config::from_toml_str(config_text).map_err(ControlError::from)?;
        let names: Vec<&str> = config.interfaces.iter().map(|i| i.name.as_str()).collect();
        let running: Vec<&str> = self.shared.links.iter().map(|l| l.name.as_str()).collect();
        if names != running {
            return Err(ControlError::invalid_config(format!(
                "interfaces cannot change live (running: {}; new: {}); restart routelet",
                running.join(", "),
                names.join(", ")
            )));
        }
        let compiled = CompiledConfig::build(&config, &link_infos(&self.shared.links))
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
        tracing::info!(generation, "config applied");
        to_value(&Applied {
            config_generation: generation,
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
