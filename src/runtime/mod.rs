//! `routelet run`: the live dataplane around the engine.
//!
//! - start-up ([`run`]): load and validate the config, read each
//!   interface's facts from the kernel, silence the kernel on them
//!   (`disable_ipv6=1`, IPv6 forwarding off; refuse to start if one carries
//!   kernel IPv4 addresses), compile, open the sockets, start the workers
//!   and the control socket;
//! - workers ([`worker`]): one thread per core by default, each with its own
//!   [`Router`](crate::engine::Router) and its own AF_PACKET sockets in a
//!   PACKET_FANOUT group per interface, polling with mio, processing frames
//!   in batches with one clock read per batch, running the engine's timers;
//! - the control plane ([`control`]): the `Backend` of the control socket,
//!   config swaps (`apply`), runtime routes, and the state snapshots that
//!   `show` reads;
//! - signals: SIGTERM/SIGINT make every worker stop; the RA-owning worker
//!   sends the final RA with router lifetime 0 first; exit 0.
//!
//! ND and ARP with several workers: the fanout hash sends a neighbor's NA
//! to one worker, but every worker needs the neighbor. So each worker also
//! opens, per interface, a small socket outside the fanout group whose BPF
//! filter passes only ND (ICMPv6 types 133–137 without extension headers)
//! and ARP, while its fanout socket's filter drops exactly those: every
//! worker sees every ND/ARP frame once. Worker 0 answers them; the others
//! only learn ([`Router::learn`](crate::engine::Router::learn)), so a
//! solicitation is answered once and every cache stays warm. With one
//! worker there is one socket per interface and no filter.

pub mod control;
pub mod dhcp;
pub mod pd;
pub mod worker;

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::config::{Config, LoadError};
use crate::control::server::{ControlLimits, ControlServer};
use crate::engine::{BuildError, CompiledConfig, LinkInfo};
use crate::io::iflock::{self, InterfaceLock};
use crate::io::sys::{self, LinkFacts};

/// What `routelet run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: PathBuf,
    pub workers: Option<usize>,
    pub state_dir: Option<PathBuf>,
}

/// Why the router could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{path}: {source}")]
    Config { path: PathBuf, source: LoadError },
    /// The kernel's own error already names the interface.
    #[error("{0}")]
    Link(std::io::Error),
    #[error("interface \"{name}\": {source}")]
    Interface {
        name: String,
        source: std::io::Error,
    },
    #[error(
        "interface \"{name}\" carries kernel IPv4 addresses ({addrs}); routelet answers for the router itself: \
         run `ip -4 addr flush dev {name}` in this namespace first"
    )]
    KernelIpv4 { name: String, addrs: String },
    #[error("{0}")]
    Lock(#[from] crate::io::iflock::LockError),
    #[error(
        "missing capability {cap}: {why} (this process lacks it: run routelet as root, \
         or grant it, e.g. `setcap cap_net_raw,cap_net_admin+ep routelet`)"
    )]
    Capability { cap: &'static str, why: String },
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error("control socket {path}: {source}")]
    Control {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("worker {index}: {source}")]
    Worker {
        index: usize,
        source: std::io::Error,
    },
}

/// State shared by the workers and the control plane.
pub struct Shared {
    /// The compiled config the workers run; swapped whole by `apply`.
    pub config: ArcSwap<CompiledConfig>,
    /// Bumped on every swap; workers compare it once per loop.
    pub generation: AtomicU64,
    /// The config as loaded or last applied (for `show config`, `apply`).
    pub source: Mutex<Config>,
    /// Routes added at run time (`ctl route add`), kept across `apply`.
    pub runtime_routes: Mutex<Vec<(ipnet::IpNet, crate::route::NextHop)>>,
    /// The kernel's view of each interface, read at start.
    pub links: Vec<LinkFacts>,
    /// Set by SIGTERM/SIGINT.
    pub stop: AtomicBool,
    /// One waker per worker, to interrupt its poll.
    pub wakers: Mutex<Vec<Arc<mio::Waker>>>,
    /// The latest snapshot each worker published.
    pub snapshots: Vec<Mutex<worker::Snapshot>>,
    /// Bumped by `show` to ask the workers for fresh snapshots.
    pub snapshot_epoch: AtomicU64,
    pub started: std::time::Instant,
    pub workers: usize,
    /// The DHCPv6 service (leases, counters), once open.
    pub dhcp: std::sync::OnceLock<Arc<dhcp::DhcpHandle>>,
    /// Where workers punt DHCPv6 frames.
    pub punts: std::sync::OnceLock<dhcp::PuntSender>,
    /// What the PD client delegated, and the prefixes being renumbered
    /// away: applied on top of `source` by every compile.
    pub delegation: Mutex<Delegation>,
}

/// The PD client's effect on the config.
#[derive(Debug, Default)]
pub struct Delegation {
    /// The /64 each `use_prefix_delegation` subnet has now.
    pub assigned: Vec<(String, ipnet::Ipv6Net)>,
    /// Prefixes advertised deprecated until they run out.
    pub renumbering: crate::engine::compiled::Renumbering,
    /// The delegated prefix and its times (for `show subnets`).
    pub binding: Option<crate::dhcpv6::pd_client::PdBinding>,
}

/// The config as it runs: `config` with the delegated prefixes written in.
pub fn running_config(shared: &Shared, config: &Config) -> Config {
    match shared.delegation.lock() {
        Ok(d) if !d.assigned.is_empty() => config.with_delegated_prefixes(&d.assigned),
        _ => config.clone(),
    }
}

/// Compiles `config` as it runs: delegated prefixes in, deprecated ones
/// in the RAs, the links' facts; the FIB without runtime routes (the
/// caller adds them).
pub fn compile_running(shared: &Shared, config: &Config) -> Result<CompiledConfig, BuildError> {
    let derived = running_config(shared, config);
    let now = crate::base::Instant::from_duration(shared.started.elapsed());
    let renumbering = match shared.delegation.lock() {
        Ok(mut d) => {
            d.renumbering.prune(now);
            d.renumbering.clone()
        }
        Err(_) => Default::default(),
    };
    CompiledConfig::build_with(&derived, &link_infos(&shared.links), &renumbering)
}

impl Shared {
    /// Wakes every worker (a config swap, a route change, a stop).
    pub fn wake_all(&self) {
        if let Ok(wakers) = self.wakers.lock() {
            for w in wakers.iter() {
                let _ = w.wake();
            }
        }
    }
}

/// Link facts in the engine's terms.
fn link_infos(links: &[LinkFacts]) -> Vec<LinkInfo> {
    links
        .iter()
        .map(|l| LinkInfo {
            name: l.name.clone(),
            mac: l.mac,
            mtu: l.mtu,
        })
        .collect()
}

/// Writes `value` to a sysctl file if it differs, logging the change.
fn set_sysctl(path: &str, value: &str) -> std::io::Result<()> {
    let current = fs::read_to_string(path)?;
    if current.trim() != value {
        fs::write(path, value)?;
        tracing::info!(sysctl = path, from = current.trim(), to = value, "changed");
    }
    Ok(())
}

/// Silences the kernel on an interface routelet owns: no IPv6 (so no
/// kernel NS/NA/RS, no SLAAC, no MLD) and no IPv6 forwarding there.
/// Changing a sysctl needs CAP_NET_ADMIN; the error says so.
fn silence_kernel(name: &str) -> std::io::Result<()> {
    for (key, value) in [("disable_ipv6", "1"), ("forwarding", "0")] {
        let path = format!("/proc/sys/net/ipv6/conf/{name}/{key}");
        set_sysctl(&path, value).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                " (changing it needs CAP_NET_ADMIN: run routelet as root, or grant it)"
            } else {
                ""
            };
            std::io::Error::new(e.kind(), format!("setting {path} to {value}: {e}{hint}"))
        })?;
    }
    Ok(())
}

/// Bit numbers in the capability sets (linux/capability.h).
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// The effective capability set (`CapEff` of /proc/self/status), if
/// readable.
fn effective_caps() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Refuses to start, naming the capability and the interfaces, when the
/// process cannot open AF_PACKET sockets (CAP_NET_RAW); without this the
/// first worker reported a bare "Operation not permitted". CAP_NET_ADMIN
/// (the sysctls) is reported where a sysctl must change, since a process
/// without it may find them already set.
fn check_capabilities(names: &[&str]) -> Result<(), StartError> {
    let Some(caps) = effective_caps() else {
        return Ok(());
    };
    if caps & (1 << CAP_NET_RAW) == 0 {
        let list = names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(StartError::Capability {
            cap: "CAP_NET_RAW",
            why: format!("AF_PACKET sockets on {list}"),
        });
    }
    if caps & (1 << CAP_NET_ADMIN) == 0 {
        tracing::warn!(
            "no CAP_NET_ADMIN: routelet cannot change the interfaces' sysctls (disable_ipv6, forwarding) if they need it"
        );
    }
    Ok(())
}

/// The worker count: asked for (`--workers`, the config), else one per
/// CPU; never more than the CPUs this process may run on, since two
/// busy-polling workers on one CPU only take turns (validation bounds the
/// configured value separately).
fn worker_count(asked: Option<usize>) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match asked {
        Some(n) if n > cpus => {
            tracing::warn!(
                asked = n,
                cpus,
                "more workers than available CPUs: running {cpus}"
            );
            cpus
        }
        Some(n) => n.max(1),
        None => cpus,
    }
}

/// Takes the lock of every interface (see [`crate::io::iflock`]) in this
/// process's network namespace.
fn lock_interfaces(links: &[LinkFacts], router: &str) -> Result<Vec<InterfaceLock>, StartError> {
    let ns = iflock::NetnsId::current().map_err(StartError::Link)?;
    let dir = std::path::Path::new(iflock::DEFAULT_DIR);
    let mut locks = Vec::with_capacity(links.len());
    for facts in links {
        let lock = iflock::lock_interface(dir, ns, &facts.name, facts.ifindex, router)?;
        tracing::debug!(interface = %facts.name, lock = %lock.path().display(), "interface locked");
        locks.push(lock);
    }
    Ok(locks)
}

/// Starts the router and blocks until it stops. Returns after the workers
/// have said goodbye (final RA) and the control socket is gone.
pub fn run(opts: &RunOptions) -> Result<(), StartError> {
    let config = Config::load(&opts.config).map_err(|source| StartError::Config {
        path: opts.config.clone(),
        source,
    })?;
    // Check every interface before changing anything.
    let mut links = Vec::with_capacity(config.interfaces.len());
    for iface in &config.interfaces {
        let facts = sys::link_facts(&iface.name).map_err(StartError::Link)?;
        let v4: Vec<Ipv4Addr> =
            sys::ipv4_addresses(&iface.name).map_err(|source| StartError::Interface {
                name: iface.name.clone(),
                source,
            })?;
        if !v4.is_empty() {
            let addrs = v4
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(StartError::KernelIpv4 {
                name: iface.name.clone(),
                addrs,
            });
        }
        links.push(facts);
    }
    let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
    check_capabilities(&names)?;
    // One router per interface: held until `run` returns (or the process
    // dies, when the kernel drops them).
    let _locks = lock_interfaces(&links, &config.router.name)?;
    for facts in &links {
        silence_kernel(&facts.name).map_err(|source| StartError::Interface {
            name: facts.name.clone(),
            source,
        })?;
        if !facts.up {
            tracing::warn!(interface = %facts.name, "interface is down or has no carrier");
        }
    }
    let compiled = CompiledConfig::build(&config, &link_infos(&links))?;
    let state_dir = opts
        .state_dir
        .clone()
        .or_else(|| config.router.state_dir.clone())
        .unwrap_or_else(|| PathBuf::from("/var/lib/routelet").join(&config.router.name));
    fs::create_dir_all(&state_dir).map_err(|source| StartError::StateDir {
        path: state_dir.clone(),
        source,
    })?;
    let workers = worker_count(opts.workers.or(config.router.workers));
    let socket_path = crate::control::client::socket_path_for(&config);
    let shared = Arc::new(Shared {
        config: ArcSwap::from_pointee(compiled),
        generation: AtomicU64::new(1),
        source: Mutex::new(config.clone()),
        runtime_routes: Mutex::new(Vec::new()),
        links,
        stop: AtomicBool::new(false),
        wakers: Mutex::new(Vec::new()),
        snapshots: (0..workers)
            .map(|_| Mutex::new(worker::Snapshot::default()))
            .collect(),
        snapshot_epoch: AtomicU64::new(0),
        started: std::time::Instant::now(),
        workers,
        dhcp: std::sync::OnceLock::new(),
        punts: std::sync::OnceLock::new(),
        delegation: Mutex::new(Delegation::default()),
    });

    // The lease journal opens before any worker runs: an unwritable or
    // full state directory stops the start here, with its path.
    let (dhcp_handle, punt_sender, punt_rx) =
        dhcp::open(&shared, &state_dir).map_err(|message| StartError::StateDir {
            path: state_dir.clone(),
            source: std::io::Error::other(message),
        })?;
    let _ = shared.dhcp.set(Arc::clone(&dhcp_handle));
    let _ = shared.punts.set(punt_sender);
    let dhcp_thread = {
        let shared = Arc::clone(&shared);
        let dir = state_dir.clone();
        std::thread::Builder::new()
            .name("routelet-dhcp".into())
            .spawn(move || dhcp::run(shared, dhcp_handle, punt_rx, Some(dir)))
            .map_err(|source| StartError::Worker {
                index: usize::MAX,
                source,
            })?
    };

    // Workers open their sockets before anything is announced, so a bad
    // interface fails the start, not a worker later.
    let mut handles = Vec::with_capacity(workers);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for index in 0..workers {
        let shared = Arc::clone(&shared);
        let ready = ready_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("routelet-w{index}"))
            .spawn(move || worker::run(index, shared, ready))
            .map_err(|source| StartError::Worker { index, source })?;
        handles.push(handle);
    }
    drop(ready_tx);
    let mut failure = None;
    for _ in 0..workers {
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok((_, Ok(()))) => {}
            Ok((index, Err(source))) => {
                failure.get_or_insert(StartError::Worker { index, source });
            }
            Err(_) => {
                failure.get_or_insert(StartError::Worker {
                    index: usize::MAX,
                    source: std::io::Error::other("worker did not start within 10 s"),
                });
            }
        }
    }
    if let Some(err) = failure {
        shared.stop.store(true, Ordering::SeqCst);
        shared.wake_all();
        for h in handles {
            let _ = h.join();
        }
        return Err(err);
    }

    let backend = Arc::new(control::RuntimeBackend::new(Arc::clone(&shared)));
    let server = ControlServer::bind(&socket_path, backend, ControlLimits::default())
        .and_then(|s| s.spawn())
        .map_err(|source| StartError::Control {
            path: socket_path.clone(),
            source,
        });
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            shared.stop.store(true, Ordering::SeqCst);
            shared.wake_all();
            for h in handles {
                let _ = h.join();
            }
            return Err(e);
        }
    };
    tracing::info!(
        router = %shared.config.load().router_name,
        workers,
        control = %socket_path.display(),
        "routelet running"
    );

    wait_for_signal(&shared);
    tracing::info!("stopping: final router advertisements");
    for h in handles {
        let _ = h.join();
    }
    let _ = dhcp_thread.join();
    server.shutdown();
    tracing::info!("stopped");
    Ok(())
}

/// Blocks until SIGTERM or SIGINT, then tells every worker to stop.
fn wait_for_signal(shared: &Shared) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        Ok(mut signals) => {
            if let Some(sig) = signals.forever().next() {
                tracing::info!(signal = sig, "signal received");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot install signal handlers; stopping");
        }
    }
    shared.stop.store(true, Ordering::SeqCst);
    shared.wake_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_clamped_to_the_cpus() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(worker_count(None), cpus);
        assert_eq!(worker_count(Some(1)), 1);
        assert_eq!(worker_count(Some(0)), 1);
        assert_eq!(worker_count(Some(cpus + 5)), cpus);
    }

    #[test]
    fn missing_capability_names_it_and_the_interfaces() {
        let err = StartError::Capability {
            cap: "CAP_NET_RAW",
            why: "AF_PACKET sockets on \"qr0\", \"qg0\"".into(),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("CAP_NET_RAW") && msg.contains("\"qr0\""),
            "{msg}"
        );
    }
}
