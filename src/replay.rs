//! `routelet replay`: a capture in, the router's answers out.
//!
//! Frames arrive on `--iface`, or, in a pcapng that names its interfaces,
//! on the router interface of the same name. Frame timestamps are the clock:
//! before each frame, every timer due by its timestamp fires (periodic RAs
//! included), so a replay is deterministic. Emitted frames go to a pcapng
//! with one named interface block per router interface, in emission order.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, LoadError};
use crate::dhcpv6::server::{duid_ll, ServeConfig, Server};
use crate::dhcpv6::service::{MemoryLog, Service};
use crate::dhcpv6::store::{Lease, LeaseStore};
use crate::engine::{IfaceId, IfaceStats, Instant, LinkInfo, Router, TxBatch};
use crate::io::pcap::{read_capture, CaptureError, PcapNgOut};

/// What `replay` was asked to do.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub config: PathBuf,
    pub input: PathBuf,
    /// Ingress interface for frames the capture does not attribute.
    pub iface: String,
    pub output: Option<PathBuf>,
}

/// One frame the router emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub at: Duration,
    pub iface: String,
    pub data: Vec<u8>,
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub frames_in: usize,
    pub emitted: Vec<Emitted>,
    /// Interface names with their counters, in config order.
    pub stats: Vec<(String, IfaceStats)>,
    /// The DHCPv6 server's counters per interface that runs one.
    pub dhcpv6: Vec<(String, Vec<(&'static str, u64)>)>,
    /// The DHCPv6 leases at the end.
    pub leases: Vec<Lease>,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {source}")]
    Config { path: PathBuf, source: LoadError },
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("--iface {0}: no such interface in the config")]
    UnknownIface(String),
    #[error("{0}")]
    Build(#[from] crate::engine::BuildError),
    #[error("writing {path}: {message}")]
    Output { path: PathBuf, message: String },
}

/// Runs a replay and writes `--out` if asked.
pub fn run(opts: &ReplayOptions) -> Result<ReplayReport, ReplayError> {
    let config = Config::load(&opts.config).map_err(|source| ReplayError::Config {
        path: opts.config.clone(),
        source,
    })?;
    let frames = read_capture(&opts.input)?;
    let report = replay_frames(
        &config,
        &opts.iface,
        frames
            .iter()
            .map(|f| (f.timestamp, f.iface.as_deref(), f.data.as_slice())),
    )?;
    if let Some(path) = &opts.output {
        write_output(path, &config, &report)?;
    }
    Ok(report)
}

/// Replays `(timestamp, capture interface name, frame)` through a router
/// built from `config`.
pub fn replay_frames<'a>(
    config: &Config,
    default_iface: &str,
    frames: impl IntoIterator<Item = (Duration, Option<&'a str>, &'a [u8])>,
) -> Result<ReplayReport, ReplayError> {
    let links = LinkInfo::synthetic(config);
    let names: Vec<String> = config.interfaces.iter().map(|i| i.name.clone()).collect();
    let index_of = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .map(|i| IfaceId(u16::try_from(i).unwrap_or(u16::MAX)))
    };
    let default = index_of(default_iface)
        .ok_or_else(|| ReplayError::UnknownIface(default_iface.to_owned()))?;

    let mut router: Option<Router> = None;
    let mut dhcp: Option<Service<MemoryLog>> = None;
    let mut tx = TxBatch::with_capacity(64, 64 * 1024);
    let mut emitted = Vec::new();
    let mut frames_in = 0;
    let collect = |tx: &mut TxBatch, at: Instant, emitted: &mut Vec<Emitted>| {
        for (iface, data) in tx.iter() {
            emitted.push(Emitted {
                at: at.as_duration(),
                iface: names.get(usize::from(iface.0)).cloned().unwrap_or_default(),
                data: data.to_vec(),
            });
        }
        tx.clear();
    };
    for (timestamp, capture_iface, data) in frames {
        frames_in += 1;
        let now = Instant::from_duration(timestamp);
        let router = match &mut router {
            Some(r) => r,
            None => {
                let r = router.insert(Router::from_config(config, &links, now)?);
                let serve = ServeConfig::build(config, r.config());
                if serve.any() {
                    let duid = duid_ll(serve.first_mac().unwrap_or_default());
                    let mut service = Service::new(
                        Server::new(duid, serve),
                        LeaseStore::new(),
                        MemoryLog::default(),
                    );
                    service.accept_partial_checksums = true;
                    dhcp = Some(service);
                }
                r
            }
        };
        router.sync();
        // Timers due up to this frame fire first, each at its own deadline.
        while let Some(deadline) = router.next_deadline().filter(|d| *d <= now) {
            router.on_timer(deadline, &mut tx);
            collect(&mut tx, deadline, &mut emitted);
        }
        let ingress = capture_iface.and_then(index_of).unwrap_or(default);
        router.process(ingress, data, now, &mut tx);
        let punts: Vec<(usize, Vec<u8>)> = tx
            .punts()
            .map(|p| (usize::from(p.ingress.0), p.frame.to_vec()))
            .collect();
        if dhcp.is_none() {
            router.count_unserved_punts(&tx);
        }
        collect(&mut tx, now, &mut emitted);
        // Punted frames go to the DHCPv6 server, if this config runs one,
        // which answers once its (in-memory) journal has the leases; the
        // capture's timestamps are its wall clock.
        if let Some(service) = dhcp.as_mut() {
            if !punts.is_empty() {
                let unix = timestamp.as_secs();
                for (iface, frame) in &punts {
                    service.handle_frame(*iface, frame, unix);
                }
                let (replies, _routes) = service.commit();
                for out in replies {
                    emitted.push(Emitted {
                        at: timestamp,
                        iface: names.get(out.iface).cloned().unwrap_or_default(),
                        data: out.frame,
                    });
                }
            }
        }
    }
    let stats = match &router {
        Some(r) => names
            .iter()
            .cloned()
            .zip(r.all_stats().iter().cloned())
            .collect(),
        None => names
            .iter()
            .map(|n| (n.clone(), IfaceStats::default()))
            .collect(),
    };
    let dhcpv6 = dhcp
        .as_ref()
        .map(|svc| {
            svc.counters()
                .iter()
                .enumerate()
                .filter(|(i, _)| svc.server.serve_config().serves(*i))
                .map(|(i, c)| {
                    (
                        names.get(i).cloned().unwrap_or_default(),
                        c.0.iter().map(|(k, v)| (*k, *v)).collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let leases = dhcp
        .as_ref()
        .map(|svc| svc.store.iter().cloned().collect())
        .unwrap_or_default();
    Ok(ReplayReport {
        frames_in,
        emitted,
        stats,
        dhcpv6,
        leases,
    })
}

fn write_output(path: &Path, config: &Config, report: &ReplayReport) -> Result<(), ReplayError> {
    let out_err = |message: String| ReplayError::Output {
        path: path.to_owned(),
        message,
    };
    let names: Vec<String> = config.interfaces.iter().map(|i| i.name.clone()).collect();
    let mut out = PcapNgOut::create(path, &names).map_err(|e| out_err(e.to_string()))?;
    for e in &report.emitted {
        let index =
            u32::try_from(names.iter().position(|n| *n == e.iface).unwrap_or(0)).unwrap_or(0);
        out.write(index, e.at, &e.data)
            .map_err(|e| out_err(e.to_string()))?;
    }
    out.finish().map_err(|e| out_err(e.to_string()))?;
    Ok(())
}

impl ReplayReport {
    /// The counters as `routelet replay` prints them: per interface, the
    /// event counters and every non-zero drop reason.
    pub fn counters_text(&self) -> String {
        let mut s = format!(
            "frames in: {}, frames out: {}\n",
            self.frames_in,
            self.emitted.len()
        );
        for (name, stats) in &self.stats {
            s.push_str(&format!("{name}:"));
            for (label, value) in stats.events() {
                s.push_str(&format!(" {label}={value}"));
            }
            s.push('\n');
            for reason in crate::engine::DropReason::ALL {
                let n = stats.drops_for(*reason);
                if n > 0 {
                    s.push_str(&format!(
                        "  drop {}={n}  ({})\n",
                        reason.name(),
                        reason.describe()
                    ));
                }
            }
        }
        for (name, counters) in &self.dhcpv6 {
            s.push_str(&format!("{name} dhcpv6:"));
            for (label, value) in counters {
                s.push_str(&format!(" {label}={value}"));
            }
            s.push('\n');
        }
        s
    }
}
