//! The PD client of `routelet run`, driven by the DHCPv6 service thread:
//! it requests a prefix on the external link (the talk's dibbler-client
//! flow), numbers the `use_prefix_delegation` subnets from it, and
//! swaps in the config that advertises and serves them; a prefix that
//! changes or is lost stays in the RAs deprecated until it runs out.
//!
//! Its DUID and binding live in `state_dir/pd-client.json`, so a restart
//! renews the same prefix instead of asking for a new one.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::base::{Instant, Rng};
use crate::config::delegation::{pd_subnet_names, subnet_prefixes};
use crate::dhcpv6::frame;
use crate::dhcpv6::pd_client::{self, PdClient, PdEvent, PdState, WallClock};
use crate::io::sys::PacketSocket;
use crate::wire::{dhcpv6 as wire, EthernetAddress};

use super::dhcp::unix_now;
use super::Shared;

/// The hop limit of the client's messages (link-scoped).
const CLIENT_HOP_LIMIT: u8 = 1;

/// The PD client and where it speaks.
pub struct PdDriver {
    client: PdClient,
    /// Index of the external interface.
    pub iface: usize,
    mac: EthernetAddress,
    link_local: std::net::Ipv6Addr,
    state_path: PathBuf,
    rng: Rng,
}

/// The engine's clock of `run` (the workers use the same).
pub fn now(shared: &Shared) -> Instant {
    Instant::from_duration(shared.started.elapsed())
}

fn clock(shared: &Shared) -> WallClock {
    WallClock {
        now: now(shared),
        unix_secs: unix_now(),
    }
}

impl PdDriver {
    /// The client for `[prefix_delegation]`, if the config has one.
    pub fn open(shared: &Shared, state_dir: &Path) -> Option<PdDriver> {
        let source = shared.source.lock().ok()?.clone();
        let pd = source.prefix_delegation.as_ref()?;
        let compiled = shared.config.load();
        let iface = compiled.ifaces.iter().find(|i| i.pd_client)?;
        let state_path = state_dir.join("pd-client.json");
        let clock = clock(shared);
        let state = std::fs::read_to_string(&state_path)
            .ok()
            .and_then(|t| PdState::from_json(&t));
        let duid = state
            .as_ref()
            .and_then(|s| s.client_duid())
            .unwrap_or_else(|| pd_client::duid_ll(iface.mac));
        let iaid = state
            .as_ref()
            .map(|s| s.iaid)
            .unwrap_or_else(|| pd_client::iaid_from_mac(iface.mac));
        let restored = state.as_ref().and_then(|s| s.binding(clock));
        if let Some(b) = &restored {
            tracing::info!(prefix = %b.prefix, "PD client: binding restored");
        }
        let client = PdClient::new(
            duid,
            iaid,
            pd.prefix_length.unwrap_or(64),
            restored,
            clock.now,
        );
        let driver = PdDriver {
            client,
            iface: usize::from(iface.id.0),
            mac: iface.mac,
            link_local: iface.link_local,
            state_path,
            rng: Rng::from_seed_bytes(&crate::base::rng::os_seed().to_le_bytes()),
        };
        driver.save(shared);
        tracing::info!(interface = %iface.name, "PD client started");
        Some(driver)
    }

    /// How long until the client has work, at most `cap`.
    pub fn timeout(&self, shared: &Shared, cap: Duration) -> Duration {
        match self.client.next_deadline() {
            Some(d) => d.saturating_since(now(shared)).min(cap),
            None => cap,
        }
    }

    /// Counters for `show stats`.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .client
            .counters()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        v.sort();
        v
    }

    /// A datagram for the client (a punted frame on its interface).
    pub fn on_frame(&mut self, shared: &Shared, bytes: &[u8]) {
        let Ok(d) = frame::parse(bytes, wire::CLIENT_PORT, false) else {
            return;
        };
        if d.src_port != wire::SERVER_PORT {
            return;
        }
        let t = now(shared);
        if let Some(ev) = self.client.on_message(d.payload, t) {
            self.event(shared, ev);
        }
    }

    /// Runs the client's timers and sends what it has to send.
    pub fn tick(&mut self, shared: &Shared, socket: Option<&mut PacketSocket>) {
        let t = now(shared);
        while let Some(ev) = self.client.poll_event(t) {
            self.event(shared, ev);
        }
        let mut out = Vec::new();
        while let Some(payload) = self.client.poll_transmit(t, &mut self.rng) {
            out.push(frame::build_with_hop_limit(
                self.mac,
                EthernetAddress::from_ipv6_multicast(&wire::ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
                self.link_local,
                wire::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
                (wire::CLIENT_PORT, wire::SERVER_PORT),
                CLIENT_HOP_LIMIT,
                &payload,
            ));
        }
        if let Some(s) = socket {
            if !out.is_empty() {
                if let Err(e) = s.send_batch(out.iter().map(|f| f.as_slice())) {
                    tracing::warn!(error = %e, "PD client: send failed");
                }
            }
        }
    }

    fn save(&self, shared: &Shared) {
        let state = self.client.state(clock(shared));
        let tmp = self.state_path.with_extension("json.tmp");
        let result = std::fs::write(&tmp, state.to_json())
            .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &self.state_path));
        if let Err(e) = result {
            tracing::warn!(path = %self.state_path.display(), error = %e, "PD client: state not saved");
        }
    }

    fn event(&mut self, shared: &Shared, ev: PdEvent) {
        let t = now(shared);
        let source = match shared.source.lock() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        let (binding, assigned) = match &ev {
            PdEvent::Extended(b) => {
                if let Ok(mut d) = shared.delegation.lock() {
                    d.binding = Some(b.clone());
                }
                self.save(shared);
                return;
            }
            PdEvent::Bound(b) => {
                let numbering = subnet_prefixes(b.prefix, &pd_subnet_names(&source));
                if !numbering.unassigned.is_empty() {
                    tracing::warn!(prefix = %b.prefix, subnets = ?numbering.unassigned, "delegated prefix too small: subnets left without a prefix");
                }
                tracing::info!(prefix = %b.prefix, assigned = ?numbering.assigned, "PD client: prefix delegated");
                (Some(b.clone()), numbering.assigned)
            }
            PdEvent::Lost(b) => {
                tracing::warn!(prefix = %b.prefix, "PD client: delegated prefix lost");
                (None, Vec::new())
            }
        };
        if let Ok(mut d) = shared.delegation.lock() {
            let old_valid = match &ev {
                PdEvent::Lost(b) => b.valid_until,
                _ => d.binding.as_ref().and_then(|b| b.valid_until),
            }
            .unwrap_or(t + Duration::from_secs(86_400));
            let old = std::mem::take(&mut d.assigned);
            d.renumbering
                .deprecate_changes(&source, &old, &assigned, old_valid);
            d.assigned = assigned;
            d.binding = binding;
        }
        self.save(shared);
        if let Err(e) = swap_running(shared) {
            tracing::error!(error = %e, "PD client: the renumbered config does not compile; keeping the running one");
        }
    }
}

/// Recompiles the running config (after a delegation change) and swaps it
/// in with the runtime routes already in its FIB, as `apply` does: no
/// worker ever sees the new config without the delegated prefixes' routes.
pub fn swap_running(shared: &Shared) -> Result<u64, String> {
    let source = shared
        .source
        .lock()
        .map_err(|_| "config lock poisoned".to_string())?;
    let compiled = super::compile_running(shared, &source).map_err(|e| e.to_string())?;
    let rib = super::control::rib_with_runtime(shared, &compiled).map_err(|e| e.to_string())?;
    compiled.fib.store(rib.compile());
    shared.config.store(Arc::new(compiled));
    let generation = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
    drop(source);
    shared.wake_all();
    tracing::info!(generation, "config renumbered");
    Ok(generation)
}
