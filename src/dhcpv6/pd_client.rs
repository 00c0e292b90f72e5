//! The prefix delegation client: an RFC 8415 requesting router for one
//! IA_PD on the external interface (the talk's `dibbler-client` flow).
//!
//! I/O-free: the DHCPv6 service thread feeds it datagrams and the time,
//! and sends what it returns. Nothing here reads a clock or the OS
//! entropy; time is a [`Instant`] and randomness a [`Rng`], both passed in.
//!
//! Driving it (the service thread's loop):
//!
//! ```text
//! on a datagram from port 547 to 546 on the PD interface:
//!     if let Some(ev) = client.on_message(payload, now) { apply(ev) }
//! then, and whenever client.next_deadline() has passed:
//!     while let Some(ev) = client.poll_event(now) { apply(ev) }
//!     while let Some(bytes) = client.poll_transmit(now, &mut rng) {
//!         send bytes from fe80::…:546 to ff02::1:2 port 547 (hop limit 1)
//!     }
//! after every Bound / Extended / Lost, and now and then:
//!     write client.state(clock).to_json() to <state_dir>/pd-client.json
//! ```
//!
//! Behaviour (RFC 8415 section numbers in the code):
//! - Solicit (Client Identifier, Elapsed Time, ORO with SOL_MAX_RT, IA_PD
//!   with T1 = T2 = 0 and an IA Prefix hint `::/prefix_len`), first one
//!   delayed by up to SOL_MAX_DELAY; Advertises are collected for the first
//!   RT and the highest preference wins, except that preference 255 is
//!   taken at once (§18.2.1); an Advertise without a usable prefix is
//!   ignored (§18.2.9).
//! - Request to the chosen server; its Reply with a prefix gives
//!   [`PdEvent::Bound`].
//! - Renew (to the server, Server Identifier included) at T1, Rebind
//!   (multicast, no Server Identifier) at T2; T1/T2 of 0 mean 0.5/0.8 of the
//!   preferred lifetime (§21.21), 0xffffffff is infinite (§7.7). A Reply that
//!   keeps the prefix gives [`PdEvent::Extended`], one with another prefix
//!   [`PdEvent::Bound`] (the caller deprecates the old one in RAs).
//! - The valid lifetime running out, a Reply with NoPrefixAvail or with the
//!   prefix at valid lifetime 0: [`PdEvent::Lost`], back to Solicit.
//!   NoBinding in a Reply to Renew/Rebind: Request to that server, keeping
//!   the binding meanwhile (§18.2.10.1).
//! - Retransmission per §15 with the §7.6 parameters of each message,
//!   jitter from the given `Rng`; Request gives up after REQ_MAX_RC and
//!   solicits again, Renew runs until T2, Rebind until the valid lifetime.
//! - Everything from the wire is checked (type, transaction id, our Client
//!   Identifier, a Server Identifier, our IA_PD, lifetimes); what fails is
//!   dropped and counted ([`PdClient::counters`]), never a panic.
//!
//! Bounds: one transaction at a time, at most one remembered offer, a
//! pending-event queue of [`MAX_PENDING_EVENTS`]. To stop a server that
//! hands out NoPrefixAvail from making the client spin, failed attempts
//! back off exponentially ([`failure_holdoff`]), and T1 is at least
//! [`MIN_T1`].
//!
//! Persistence: [`PdState`] is the `pd-client.json` document, with the
//! binding's times in UNIX seconds so that they survive a restart; a
//! [`WallClock`] pairs the monotonic and the UNIX time for the conversion.
//! Written by hand rather than with a DHCP client crate: the crates.io
//! clients (dhcproto has none) own sockets and clocks, which the
//! service thread's design (one thread, I/O outside) rules out.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::Duration;

use dhcproto::v6::{
    DhcpOption, DhcpOptions, IAPrefix, Message, MessageType, OptionCode, Status, IAPD, ORO,
};
use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};

use crate::base::{Instant, Rng};
use crate::wire::dhcpv6::{emit, parse};
use crate::wire::EthernetAddress;

/// RFC 8415 §7.6: the first Solicit is delayed by up to this much.
pub const SOL_MAX_DELAY: Duration = Duration::from_secs(1);
/// Lower bound of T1, whatever the server says: a preferred lifetime of 0
/// with T1 = 0 would otherwise renew in a loop.
pub const MIN_T1: Duration = Duration::from_secs(10);
/// The most events kept for [`PdClient::poll_event`].
pub const MAX_PENDING_EVENTS: usize = 4;
/// SOL_MAX_RT option code (RFC 8415 §21.24); dhcproto leaves it Unknown.
const OPTION_SOL_MAX_RT: u16 = 82;
/// Infinite lifetime on the wire (RFC 8415 §7.7).
const INFINITY: u32 = u32::MAX;

/// Retransmission parameters of one message type (RFC 8415 §7.6, §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retrans {
    /// IRT.
    initial: Duration,
    /// MRT; zero means none.
    max_rt: Duration,
    /// MRC; zero means none. MRD is the state's deadline (T2, valid).
    max_count: u32,
}

const SOLICIT: Retrans = Retrans {
    initial: Duration::from_secs(1),
    max_rt: Duration::from_secs(3600),
    max_count: 0,
};
const REQUEST: Retrans = Retrans {
    initial: Duration::from_secs(1),
    max_rt: Duration::from_secs(30),
    max_count: 10,
};
const RENEW: Retrans = Retrans {
    initial: Duration::from_secs(10),
    max_rt: Duration::from_secs(600),
    max_count: 0,
};
const REBIND: Retrans = Retrans {
    initial: Duration::from_secs(10),
    max_rt: Duration::from_secs(600),
    max_count: 0,
};

/// The DUID-LL of an Ethernet interface (RFC 8415 §11.4: type 3,
/// hardware type 1, the MAC).
pub fn duid_ll(mac: EthernetAddress) -> Vec<u8> {
    let mut duid = vec![0x00, 0x03, 0x00, 0x01];
    duid.extend_from_slice(&mac.0);
    duid
}

/// An IAID from the interface's MAC, as dhclient makes it (its last four
/// octets; `3e111102` for fa:16:3e:11:11:02 in the talk's capture):
/// stable across restarts without being stored.
pub fn iaid_from_mac(mac: EthernetAddress) -> u32 {
    let [_, _, a, b, c, d] = mac.0;
    u32::from_be_bytes([a, b, c, d])
}

/// A delegated prefix and its times. `None` deadlines are infinite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdBinding {
    pub prefix: Ipv6Net,
    pub preferred_until: Option<Instant>,
    pub valid_until: Option<Instant>,
    /// When to Renew.
    pub t1: Option<Instant>,
    /// When to Rebind.
    pub t2: Option<Instant>,
    /// The DUID of the server that last replied.
    pub server_id: Vec<u8>,
    pub iaid: u32,
}

impl PdBinding {
    /// Seconds of valid lifetime left at `now`; `None` if infinite.
    pub fn valid_remaining(&self, now: Instant) -> Option<Duration> {
        self.valid_until.map(|t| t.saturating_since(now))
    }

    /// Seconds of preferred lifetime left at `now`; `None` if infinite.
    pub fn preferred_remaining(&self, now: Instant) -> Option<Duration> {
        self.preferred_until.map(|t| t.saturating_since(now))
    }
}

/// What a message or a timer changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdEvent {
    /// A prefix to number the subnets from: the first one, one restored
    /// from the state file (queued by [`PdClient::new`]), or a new prefix
    /// replacing another (the caller deprecates the old one).
    Bound(PdBinding),
    /// Renew or Rebind kept the prefix; the times changed.
    Extended(PdBinding),
    /// The prefix is gone: its valid lifetime ran out, or the server
    /// said NoPrefixAvail or gave it valid lifetime 0 (then `valid_until`
    /// is the moment it said so). The binding as it was, so the caller can
    /// advertise it deprecated until `valid_until`.
    Lost(PdBinding),
}

/// A monotonic instant and the UNIX time at that instant, to convert the
/// binding's deadlines to and from the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    pub now: Instant,
    pub unix_secs: u64,
}

impl WallClock {
    fn to_unix(self, t: Instant) -> u64 {
        if t >= self.now {
            self.unix_secs
                .saturating_add(t.saturating_since(self.now).as_secs())
        } else {
            self.unix_secs
                .saturating_sub(self.now.saturating_since(t).as_secs())
        }
    }

    fn to_instant(self, unix: u64) -> Instant {
        if unix >= self.unix_secs {
            self.now + Duration::from_secs(unix - self.unix_secs)
        } else {
            self.now - Duration::from_secs(self.unix_secs - unix)
        }
    }
}

/// The binding as stored: times in UNIX seconds, `null` = infinite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredBinding {
    pub prefix: Ipv6Net,
    /// Hex.
    pub server_id: String,
    pub preferred_until: Option<u64>,
    pub valid_until: Option<u64>,
    pub t1: Option<u64>,
    pub t2: Option<u64>,
}

/// `pd-client.json`: the client DUID (kept once created, so the upstream
/// server sees the same client after a restart), the IAID and the binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdState {
    /// Hex.
    pub duid: String,
    pub iaid: u32,
    #[serde(default)]
    pub binding: Option<StoredBinding>,
}

impl PdState {
    /// The document for `duid`, `iaid` and an optional binding.
    pub fn new(duid: &[u8], iaid: u32, binding: Option<&PdBinding>, clock: WallClock) -> PdState {
        PdState {
            duid: to_hex(duid),
            iaid,
            binding: binding.map(|b| StoredBinding {
                prefix: b.prefix,
                server_id: to_hex(&b.server_id),
                preferred_until: b.preferred_until.map(|t| clock.to_unix(t)),
                valid_until: b.valid_until.map(|t| clock.to_unix(t)),
                t1: b.t1.map(|t| clock.to_unix(t)),
                t2: b.t2.map(|t| clock.to_unix(t)),
            }),
        }
    }

    /// As JSON, one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// From JSON; `None` if it is not a state document (the caller then
    /// starts afresh, with a new DUID-LL).
    pub fn from_json(text: &str) -> Option<PdState> {
        let state: PdState = serde_json::from_str(text).ok()?;
        state.client_duid()?;
        Some(state)
    }

    /// The client DUID, if it is hex of 2..=130 octets (RFC 8415 §11.1).
    pub fn client_duid(&self) -> Option<Vec<u8>> {
        from_hex(&self.duid).filter(|d| (2..=130).contains(&d.len()))
    }

    /// The stored binding with its times as instants of `clock`.
    pub fn binding(&self, clock: WallClock) -> Option<PdBinding> {
        let b = self.binding.as_ref()?;
        let server_id = from_hex(&b.server_id).filter(|d| (2..=130).contains(&d.len()))?;
        Some(PdBinding {
            prefix: b.prefix.trunc(),
            preferred_until: b.preferred_until.map(|u| clock.to_instant(u)),
            valid_until: b.valid_until.map(|u| clock.to_instant(u)),
            t1: b.t1.map(|u| clock.to_instant(u)),
            t2: b.t2.map(|u| clock.to_instant(u)),
            server_id,
            iaid: self.iaid,
        })
    }
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 2 * 130 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Counters, named as `ctl show stats` prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counters {
    tx_solicit: u64,
    tx_request: u64,
    tx_renew: u64,
    tx_rebind: u64,
    tx_encode_error: u64,
    rx_advertise: u64,
    rx_reply: u64,
    rx_other: u64,
    drop_malformed: u64,
    drop_unexpected_type: u64,
    drop_wrong_xid: u64,
    drop_no_client_id: u64,
    drop_wrong_client_id: u64,
    drop_no_server_id: u64,
    drop_no_ia_pd: u64,
    drop_no_prefix: u64,
    drop_bad_t1_t2: u64,
    drop_status: u64,
    status_no_prefix_avail: u64,
    status_no_binding: u64,
    request_failed: u64,
    bound: u64,
    extended: u64,
    lost: u64,
}

/// The message an exchange sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Solicit,
    Request,
    Renew,
    Rebind,
}

impl Kind {
    fn params(self) -> Retrans {
        match self {
            Kind::Solicit => SOLICIT,
            Kind::Request => REQUEST,
            Kind::Renew => RENEW,
            Kind::Rebind => REBIND,
        }
    }
}

/// One client-initiated exchange and its retransmission state (§15).
#[derive(Debug, Clone)]
struct Exchange {
    kind: Kind,
    /// Drawn at the first transmission.
    xid: Option<[u8; 3]>,
    /// First transmission (for Elapsed Time).
    started: Option<Instant>,
    /// The current RT.
    rt: Duration,
    /// When the next (re)transmission is due.
    next_tx: Instant,
    sent: u32,
    /// End of the first RT (Solicit: Advertise collection ends).
    first_rt_end: Option<Instant>,
}

impl Exchange {
    fn new(kind: Kind, at: Instant) -> Exchange {
        Exchange {
            kind,
            xid: None,
            started: None,
            rt: Duration::ZERO,
            next_tx: at,
            sent: 0,
            first_rt_end: None,
        }
    }

    /// MRC reached and the last RT has run out.
    fn exhausted(&self, now: Instant) -> bool {
        let mrc = self.kind.params().max_count;
        mrc > 0 && self.sent >= mrc && now >= self.next_tx
    }

    /// Elapsed Time in centiseconds, capped (§21.9).
    fn elapsed(&self, now: Instant) -> u16 {
        self.started.map_or(0, |s| {
            u16::try_from(now.saturating_since(s).as_millis() / 10).unwrap_or(u16::MAX)
        })
    }

    /// RT for the next wait (§15), jittered by RAND in [-0.1, 0.1] (the
    /// first Solicit's in (0, 0.1]).
    fn next_rt(&self, rng: &mut Rng) -> Duration {
        let p = self.kind.params();
        if self.sent == 0 {
            return jitter(p.initial, rng, self.kind == Kind::Solicit);
        }
        let doubled = self.rt.saturating_mul(2);
        let rt = jitter_around(doubled, self.rt, rng);
        if !p.max_rt.is_zero() && rt > p.max_rt {
            jitter(p.max_rt, rng, false)
        } else {
            rt
        }
    }
}

/// `base + RAND × base`.
fn jitter(base: Duration, rng: &mut Rng, strictly_positive: bool) -> Duration {
    jitter_around(base, base, rng).max(if strictly_positive {
        base + Duration::from_micros(1)
    } else {
        Duration::ZERO
    })
}

/// `base + RAND × scale`, RAND uniform in [-0.1, 0.1] by thousandths.
fn jitter_around(base: Duration, scale: Duration, rng: &mut Rng) -> Duration {
    let r = rng.range_inclusive(0, 200);
    let scale_us = u64::try_from(scale.as_micros()).unwrap_or(u64::MAX);
    let delta = Duration::from_micros(scale_us / 1000 * r.abs_diff(100));
    if r >= 100 {
        base.saturating_add(delta)
    } else {
        base.saturating_sub(delta)
    }
}

/// How long to wait before soliciting again after `failures` failed
/// attempts in a row: 1, 2, 4 … s, at most SOL_MAX_RT.
pub fn failure_holdoff(failures: u32) -> Duration {
    let secs = 1u64.checked_shl(failures.min(12)).unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(SOLICIT.max_rt)
}

/// A server's offer, from its Advertise.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offer {
    server_id: Vec<u8>,
    prefix: Ipv6Net,
    preference: u8,
}

#[derive(Debug, Clone)]
enum State {
    /// Not started: the first Solicit's delay is drawn at the first poll.
    Init,
    Soliciting {
        ex: Exchange,
        best: Option<Offer>,
    },
    Requesting {
        ex: Exchange,
        server_id: Vec<u8>,
        prefix: Ipv6Net,
    },
    Bound,
    Renewing {
        ex: Exchange,
    },
    Rebinding {
        ex: Exchange,
    },
}

/// The requesting router (module doc).
#[derive(Debug, Clone)]
pub struct PdClient {
    duid: Vec<u8>,
    iaid: u32,
    prefix_len: u8,
    state: State,
    binding: Option<PdBinding>,
    /// Failed attempts in a row (for [`failure_holdoff`]).
    failures: u32,
    /// SOL_MAX_RT, from the server's option if it sent one (§21.24).
    sol_max_rt: Duration,
    pending: VecDeque<PdEvent>,
    counters: Counters,
}

fn passed(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|t| now >= t)
}

impl PdClient {
    /// A client for `iaid` asking for a `/prefix_len`. With a `restored`
    /// binding (from [`PdState::binding`]) it carries on: Bound until T1,
    /// Renew if T1 has passed, Rebind if T2 has, Solicit if the valid
    /// lifetime has; a still valid binding is queued as
    /// [`PdEvent::Bound`] so the caller numbers its subnets as usual.
    pub fn new(
        client_duid: Vec<u8>,
        iaid: u32,
        prefix_len: u8,
        restored: Option<PdBinding>,
        now: Instant,
    ) -> PdClient {
        let mut client = PdClient {
            duid: client_duid,
            iaid,
            prefix_len: prefix_len.min(128),
            state: State::Init,
            binding: None,
            failures: 0,
            sol_max_rt: SOLICIT.max_rt,
            pending: VecDeque::new(),
            counters: Counters::default(),
        };
        if let Some(b) = restored.filter(|b| !passed(b.valid_until, now)) {
            client.state = if passed(b.t2, now) {
                State::Rebinding {
                    ex: Exchange::new(Kind::Rebind, now),
                }
            } else if passed(b.t1, now) {
                State::Renewing {
                    ex: Exchange::new(Kind::Renew, now),
                }
            } else {
                State::Bound
            };
            client.pending.push_back(PdEvent::Bound(b.clone()));
            client.binding = Some(b);
        }
        client
    }

    /// The current binding.
    pub fn binding(&self) -> Option<&PdBinding> {
        self.binding.as_ref()
    }

    /// The client DUID.
    pub fn duid(&self) -> &[u8] {
        &self.duid
    }

    /// What to write to `pd-client.json`.
    pub fn state(&self, clock: WallClock) -> PdState {
        PdState::new(&self.duid, self.iaid, self.binding.as_ref(), clock)
    }

    /// The state's name, for `ctl show` and logs.
    pub fn phase(&self) -> &'static str {
        match self.state {
            State::Init => "init",
            State::Soliciting { .. } => "soliciting",
            State::Requesting { .. } => "requesting",
            State::Bound => "bound",
            State::Renewing { .. } => "renewing",
            State::Rebinding { .. } => "rebinding",
        }
    }

    /// Counters: messages sent and received by type, drops by reason,
    /// outcomes.
    pub fn counters(&self) -> impl Iterator<Item = (&'static str, u64)> {
        let c = &self.counters;
        [
            ("tx_solicit", c.tx_solicit),
            ("tx_request", c.tx_request),
            ("tx_renew", c.tx_renew),
            ("tx_rebind", c.tx_rebind),
            ("tx_encode_error", c.tx_encode_error),
            ("rx_advertise", c.rx_advertise),
            ("rx_reply", c.rx_reply),
            ("rx_other", c.rx_other),
            ("drop_malformed", c.drop_malformed),
            ("drop_unexpected_type", c.drop_unexpected_type),
            ("drop_wrong_xid", c.drop_wrong_xid),
            ("drop_no_client_id", c.drop_no_client_id),
            ("drop_wrong_client_id", c.drop_wrong_client_id),
            ("drop_no_server_id", c.drop_no_server_id),
            ("drop_no_ia_pd", c.drop_no_ia_pd),
            ("drop_no_prefix", c.drop_no_prefix),
            ("drop_bad_t1_t2", c.drop_bad_t1_t2),
            ("drop_status", c.drop_status),
            ("status_no_prefix_avail", c.status_no_prefix_avail),
            ("status_no_binding", c.status_no_binding),
            ("request_failed", c.request_failed),
            ("bound", c.bound),
            ("extended", c.extended),
            ("lost", c.lost),
        ]
        .into_iter()
    }

    /// When [`poll_event`](Self::poll_event) / [`poll_transmit`](Self::poll_transmit)
    /// next have something to do; `None` only when bound with infinite
    /// times.
    pub fn next_deadline(&self) -> Option<Instant> {
        let valid = self.binding.as_ref().and_then(|b| b.valid_until);
        let own = match &self.state {
            State::Init => Some(Instant::ZERO),
            State::Soliciting { ex, best } => {
                let collect = best.as_ref().and(ex.first_rt_end);
                Some(collect.map_or(ex.next_tx, |c| c.min(ex.next_tx)))
            }
            State::Requesting { ex, .. } => Some(ex.next_tx),
            State::Bound => {
                let b = self.binding.as_ref();
                b.and_then(|b| b.t1.or(b.t2))
            }
            State::Renewing { ex } => {
                let t2 = self.binding.as_ref().and_then(|b| b.t2);
                Some(t2.map_or(ex.next_tx, |t| t.min(ex.next_tx)))
            }
            State::Rebinding { ex } => Some(ex.next_tx),
        };
        match (own, valid) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the timers due at `now` and returns the next pending event.
    pub fn poll_event(&mut self, now: Instant) -> Option<PdEvent> {
        self.advance(now);
        self.pending.pop_front()
    }

    /// The message to send now, if one is due: UDP payload for
    /// ff02::1:2 port 547. At most one per call; call until `None`.
    pub fn poll_transmit(&mut self, now: Instant, rng: &mut Rng) -> Option<Vec<u8>> {
        self.advance(now);
        if matches!(self.state, State::Init) {
            let max = u64::try_from(SOL_MAX_DELAY.as_micros()).unwrap_or(0);
            let delay = Duration::from_micros(rng.range_inclusive(0, max));
            self.state = State::Soliciting {
                ex: Exchange::new(Kind::Solicit, now + delay),
                best: None,
            };
        }
        let sol_max_rt = self.sol_max_rt;
        let ex = match &mut self.state {
            State::Soliciting { ex, .. }
            | State::Requesting { ex, .. }
            | State::Renewing { ex }
            | State::Rebinding { ex } => ex,
            State::Init | State::Bound => return None,
        };
        if ex.next_tx > now || ex.exhausted(now) {
            return None;
        }
        let xid = *ex.xid.get_or_insert_with(|| {
            let [_, _, _, _, _, a, b, c] = rng.next_u64().to_be_bytes();
            [a, b, c]
        });
        if ex.started.is_none() {
            ex.started = Some(now);
        }
        let elapsed = ex.elapsed(now);
        let mut rt = ex.next_rt(rng);
        if ex.kind == Kind::Solicit && rt > sol_max_rt {
            rt = jitter(sol_max_rt, rng, false);
        }
        ex.rt = rt;
        ex.next_tx = now + rt;
        if ex.sent == 0 {
            ex.first_rt_end = Some(ex.next_tx);
        }
        ex.sent = ex.sent.saturating_add(1);
        let kind = ex.kind;
        let msg = self.build(kind, xid, elapsed);
        match emit(&msg) {
            Ok(bytes) => {
                let c = &mut self.counters;
                *match kind {
                    Kind::Solicit => &mut c.tx_solicit,
                    Kind::Request => &mut c.tx_request,
                    Kind::Renew => &mut c.tx_renew,
                    Kind::Rebind => &mut c.tx_rebind,
                } += 1;
                Some(bytes)
            }
            Err(_) => {
                self.counters.tx_encode_error += 1;
                None
            }
        }
    }

    /// A datagram from port 547 to port 546 on the PD interface. Returns
    /// what changed, if anything; a bad or unexpected message is counted
    /// and ignored.
    pub fn on_message(&mut self, payload: &[u8], now: Instant) -> Option<PdEvent> {
        self.advance(now);
        let Ok(msg) = parse(payload) else {
            self.counters.drop_malformed += 1;
            return None;
        };
        match msg.msg_type() {
            MessageType::Advertise => self.counters.rx_advertise += 1,
            MessageType::Reply => self.counters.rx_reply += 1,
            _ => {
                self.counters.rx_other += 1;
                self.counters.drop_unexpected_type += 1;
                return None;
            }
        }
        let current_xid = match &self.state {
            State::Soliciting { ex, .. }
            | State::Requesting { ex, .. }
            | State::Renewing { ex }
            | State::Rebinding { ex } => ex.xid,
            State::Init | State::Bound => None,
        };
        if current_xid != Some(msg.xid()) {
            self.counters.drop_wrong_xid += 1;
            return None;
        }
        match msg.opts().get(OptionCode::ClientId) {
            Some(DhcpOption::ClientId(id)) if *id == self.duid => {}
            Some(_) => {
                self.counters.drop_wrong_client_id += 1;
                return None;
            }
            None => {
                self.counters.drop_no_client_id += 1;
                return None;
            }
        }
        let Some(DhcpOption::ServerId(server_id)) = msg.opts().get(OptionCode::ServerId) else {
            self.counters.drop_no_server_id += 1;
            return None;
        };
        let server_id = server_id.clone();
        self.take_sol_max_rt(&msg);
        match status_of(msg.opts()) {
            None | Some(Status::Success) => {}
            Some(Status::NoPrefixAvail) => {
                // Some servers say it at the message level: an Advertise
                // is ignored (§18.2.9), a Reply ends the exchange.
                self.counters.status_no_prefix_avail += 1;
                return match msg.msg_type() {
                    MessageType::Reply if !matches!(self.state, State::Soliciting { .. }) => {
                        self.give_up(now, None)
                    }
                    _ => None,
                };
            }
            Some(_) => {
                // UnspecFail, UseMulticast (we do multicast) and the rest:
                // keep retransmitting (§18.2.10).
                self.counters.drop_status += 1;
                return None;
            }
        }
        let Some(ia) = find_ia_pd(msg.opts(), self.iaid) else {
            self.counters.drop_no_ia_pd += 1;
            return None;
        };
        match msg.msg_type() {
            MessageType::Advertise => {
                self.on_advertise(ia, server_id, preference(msg.opts()), now);
                None
            }
            _ => self.on_reply(ia, server_id, now),
        }
    }

    fn take_sol_max_rt(&mut self, msg: &Message) {
        for opt in msg.opts().iter() {
            if let DhcpOption::Unknown(u) = opt {
                if u16::from(u.code()) == OPTION_SOL_MAX_RT {
                    if let Ok(b) = <[u8; 4]>::try_from(u.data()) {
                        let secs = u32::from_be_bytes(b);
                        // §21.24: values outside 60..=86400 are ignored.
                        if (60..=86_400).contains(&secs) {
                            self.sol_max_rt = Duration::from_secs(u64::from(secs));
                        }
                    }
                }
            }
        }
    }

    fn on_advertise(&mut self, ia: &IAPD, server_id: Vec<u8>, preference: u8, now: Instant) {
        let State::Soliciting { ex, best } = &mut self.state else {
            self.counters.drop_unexpected_type += 1;
            return;
        };
        if let Some(status) = status_of(&ia.opts) {
            if status != Status::Success {
                if status == Status::NoPrefixAvail {
                    self.counters.status_no_prefix_avail += 1;
                } else {
                    self.counters.drop_status += 1;
                }
                return;
            }
        }
        let Some((prefix, _, _)) = usable_prefixes(ia).next() else {
            // §18.2.9: an Advertise with no prefix is ignored.
            self.counters.drop_no_prefix += 1;
            return;
        };
        let offer = Offer {
            server_id,
            prefix,
            preference,
        };
        let collecting = ex.first_rt_end.map_or(true, |t| now < t);
        if preference == 255 || !collecting {
            self.state = State::Requesting {
                ex: Exchange::new(Kind::Request, now),
                server_id: offer.server_id,
                prefix: offer.prefix,
            };
            return;
        }
        if best
            .as_ref()
            .map_or(true, |b| offer.preference > b.preference)
        {
            *best = Some(offer);
        }
    }

    fn on_reply(&mut self, ia: &IAPD, server_id: Vec<u8>, now: Instant) -> Option<PdEvent> {
        if matches!(self.state, State::Soliciting { .. }) {
            // No Rapid Commit asked for.
            self.counters.drop_unexpected_type += 1;
            return None;
        }
        let renewing = matches!(self.state, State::Renewing { .. } | State::Rebinding { .. });
        match status_of(&ia.opts) {
            Some(Status::Success) | None => {}
            Some(Status::NoBinding) if renewing => {
                // §18.2.10.1: Request from the server that answered; keep
                // the binding meanwhile.
                self.counters.status_no_binding += 1;
                let prefix = self.binding.as_ref()?.prefix;
                self.state = State::Requesting {
                    ex: Exchange::new(Kind::Request, now),
                    server_id,
                    prefix,
                };
                return None;
            }
            Some(Status::NoPrefixAvail) => {
                self.counters.status_no_prefix_avail += 1;
                return self.give_up(now, None);
            }
            Some(Status::NoBinding) => {
                self.counters.status_no_binding += 1;
                return self.give_up(now, None);
            }
            Some(_) => {
                self.counters.drop_status += 1;
                return None;
            }
        }
        if ia.t1 > ia.t2 && ia.t2 > 0 {
            // §21.21: such an IA_PD is discarded.
            self.counters.drop_bad_t1_t2 += 1;
            return None;
        }
        let current = self.binding.as_ref().map(|b| b.prefix);
        let usable: Vec<(Ipv6Net, u32, u32)> = usable_prefixes(ia).collect();
        let chosen = usable
            .iter()
            .find(|(p, _, _)| Some(*p) == current)
            .or_else(|| usable.first())
            .copied();
        let Some((prefix, preferred, valid)) = chosen else {
            self.counters.drop_no_prefix += 1;
            // The server withdrew the prefix (valid 0) or gave none.
            let withdrawn = current.is_some_and(|c| prefixes(ia).any(|(p, _, v)| p == c && v == 0));
            return self.give_up(now, withdrawn.then_some(now));
        };
        let deadline =
            |secs: u32| (secs != INFINITY).then(|| now + Duration::from_secs(u64::from(secs)));
        let (t1, t2) = renew_times(ia.t1, ia.t2, preferred);
        let binding = PdBinding {
            prefix,
            preferred_until: deadline(preferred),
            valid_until: deadline(valid),
            t1: t1.map(|d| now + d),
            t2: t2.map(|d| now + d),
            server_id,
            iaid: self.iaid,
        };
        self.binding = Some(binding.clone());
        self.state = State::Bound;
        self.failures = 0;
        if current == Some(prefix) {
            self.counters.extended += 1;
            Some(PdEvent::Extended(binding))
        } else {
            self.counters.bound += 1;
            Some(PdEvent::Bound(binding))
        }
    }

    /// The exchange failed for good: a binding we had is Lost (valid until
    /// `withdrawn_at` if the server revoked it), and after a holdoff the
    /// client solicits again.
    fn give_up(&mut self, now: Instant, withdrawn_at: Option<Instant>) -> Option<PdEvent> {
        self.failures = self.failures.saturating_add(1);
        self.state = State::Soliciting {
            ex: Exchange::new(Kind::Solicit, now + failure_holdoff(self.failures)),
            best: None,
        };
        let mut lost = self.binding.take()?;
        if let Some(at) = withdrawn_at {
            lost.valid_until = Some(at);
            lost.preferred_until = Some(at);
        }
        self.counters.lost += 1;
        Some(PdEvent::Lost(lost))
    }

    /// Timers: valid lifetime, T1, T2, the end of Advertise collection,
    /// Request's MRC.
    fn advance(&mut self, now: Instant) {
        if let Some(b) = &self.binding {
            if passed(b.valid_until, now) {
                let lost = b.clone();
                self.binding = None;
                self.counters.lost += 1;
                self.push_event(PdEvent::Lost(lost));
                self.state = State::Soliciting {
                    ex: Exchange::new(Kind::Solicit, now),
                    best: None,
                };
                return;
            }
        }
        let (t1, t2) = self.binding.as_ref().map_or((None, None), |b| (b.t1, b.t2));
        match &mut self.state {
            State::Bound if passed(t2, now) => {
                self.state = State::Rebinding {
                    ex: Exchange::new(Kind::Rebind, now),
                };
            }
            State::Bound if passed(t1, now) => {
                self.state = State::Renewing {
                    ex: Exchange::new(Kind::Renew, now),
                };
            }
            State::Renewing { .. } if passed(t2, now) => {
                self.state = State::Rebinding {
                    ex: Exchange::new(Kind::Rebind, now),
                };
            }
            State::Soliciting { ex, best } if ex.first_rt_end.is_some_and(|t| now >= t) => {
                if let Some(offer) = best.take() {
                    self.state = State::Requesting {
                        ex: Exchange::new(Kind::Request, now),
                        server_id: offer.server_id,
                        prefix: offer.prefix,
                    };
                }
            }
            State::Requesting { ex, .. } if ex.exhausted(now) => {
                self.counters.request_failed += 1;
                if self.binding.is_some() {
                    // A Request after NoBinding: back to renewing (T1 has
                    // passed, so the next advance renews or rebinds).
                    self.state = State::Bound;
                    self.advance(now);
                } else {
                    self.failures = self.failures.saturating_add(1);
                    self.state = State::Soliciting {
                        ex: Exchange::new(Kind::Solicit, now + failure_holdoff(self.failures)),
                        best: None,
                    };
                }
            }
            _ => {}
        }
    }

    fn push_event(&mut self, ev: PdEvent) {
        if self.pending.len() >= MAX_PENDING_EVENTS {
            self.pending.pop_front();
        }
        self.pending.push_back(ev);
    }

    fn build(&self, kind: Kind, xid: [u8; 3], elapsed: u16) -> Message {
        let (msg_type, server_id, hint) = match (&self.state, &self.binding) {
            (
                State::Requesting {
                    server_id, prefix, ..
                },
                _,
            ) => (MessageType::Request, Some(server_id.clone()), *prefix),
            (_, Some(b)) if kind == Kind::Renew => {
                (MessageType::Renew, Some(b.server_id.clone()), b.prefix)
            }
            (_, Some(b)) if kind == Kind::Rebind => (MessageType::Rebind, None, b.prefix),
            _ => (
                MessageType::Solicit,
                None,
                Ipv6Net::new(Ipv6Addr::UNSPECIFIED, self.prefix_len).unwrap_or_default(),
            ),
        };
        let mut msg = Message::new_with_id(msg_type, xid);
        let opts = msg.opts_mut();
        opts.insert(DhcpOption::ClientId(self.duid.clone()));
        if let Some(id) = server_id {
            opts.insert(DhcpOption::ServerId(id));
        }
        opts.insert(DhcpOption::ORO(ORO {
            opts: vec![OptionCode::SolMaxRt],
        }));
        opts.insert(DhcpOption::ElapsedTime(elapsed));
        let mut ia_opts = DhcpOptions::new();
        ia_opts.insert(DhcpOption::IAPrefix(IAPrefix {
            preferred_lifetime: 0,
            valid_lifetime: 0,
            prefix_len: hint.prefix_len(),
            prefix_ip: hint.network(),
            opts: DhcpOptions::new(),
        }));
        opts.insert(DhcpOption::IAPD(IAPD {
            id: self.iaid,
            t1: 0,
            t2: 0,
            opts: ia_opts,
        }));
        msg
    }
}

/// T1 and T2 from now (§21.21): 0 → 0.5 / 0.8 of the preferred lifetime,
/// 0xffffffff → never; T1 at least [`MIN_T1`], T2 at least T1.
fn renew_times(t1: u32, t2: u32, preferred: u32) -> (Option<Duration>, Option<Duration>) {
    let pick = |t: u32, tenths: u64| -> Option<Duration> {
        match t {
            INFINITY => None,
            0 if preferred == INFINITY => None,
            0 => Some(Duration::from_secs(u64::from(preferred) * tenths / 10)),
            t => Some(Duration::from_secs(u64::from(t))),
        }
    };
    let t1 = pick(t1, 5).map(|d| d.max(MIN_T1));
    let t2 = match (pick(t2, 8), t1) {
        (Some(t2), Some(t1)) => Some(t2.max(t1)),
        (t2, _) => t2,
    };
    (t1, t2)
}

fn status_of(opts: &DhcpOptions) -> Option<Status> {
    match opts.get(OptionCode::StatusCode) {
        Some(DhcpOption::StatusCode(s)) => Some(s.status),
        _ => None,
    }
}

fn preference(opts: &DhcpOptions) -> u8 {
    match opts.get(OptionCode::Preference) {
        Some(DhcpOption::Preference(p)) => *p,
        _ => 0,
    }
}

fn find_ia_pd(opts: &DhcpOptions, iaid: u32) -> Option<&IAPD> {
    opts.iter().find_map(|o| match o {
        DhcpOption::IAPD(ia) if ia.id == iaid => Some(ia),
        _ => None,
    })
}

/// Every IA Prefix of `ia`: (prefix, preferred, valid).
fn prefixes(ia: &IAPD) -> impl Iterator<Item = (Ipv6Net, u32, u32)> + '_ {
    ia.opts.iter().filter_map(|o| match o {
        DhcpOption::IAPrefix(p) => Ipv6Net::new(p.prefix_ip, p.prefix_len)
            .ok()
            .map(|n| (n.trunc(), p.preferred_lifetime, p.valid_lifetime)),
        _ => None,
    })
}

/// The prefixes the client can use: valid lifetime above 0, preferred
/// not above valid (§21.22 says to discard those), and short enough to
/// hold a /64.
fn usable_prefixes(ia: &IAPD) -> impl Iterator<Item = (Ipv6Net, u32, u32)> + '_ {
    prefixes(ia)
        .filter(|(p, preferred, valid)| *valid > 0 && preferred <= valid && p.prefix_len() <= 64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
