//! What a stage decides about a frame, and the record of those decisions.
//!
//! Each stage of the per-frame path either passes the frame on to the
//! next stage (with what it parsed) or ends its journey with a [`Next`]
//! verdict that the dispatcher (`router.rs`) acts on: forward it, answer
//! it, punt it to a service, send an ICMP error, count it as consumed or
//! as dropped for a named reason. A frame not yet shown to be good is a
//! drop; a frame used on purpose (an NA learned from) is consumed.
//!
//! The dispatcher can record every (stage, step) pair for a trace. It is
//! generic over a [`Tracer`]: with [`NoTrace`] the recording compiles to
//! nothing, so the fast path pays for it only in the traced copy of the
//! code (`Router::trace`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::base::IfaceId;

use super::stats::{Consumed, DropReason};

/// The stages of the per-frame path, in the order a frame meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Ethernet: MAC checks, VLAN, EtherType.
    L2,
    /// IPv6 fixed header.
    Ip6Input,
    /// IPv4 header.
    Ip4Input,
    /// ARP: answers, learning.
    Arp,
    /// FIB lookup: local, or transit with an egress and adjacency.
    Lookup,
    /// Local delivery of IPv6: extension headers, ICMPv6, UDP services.
    Local6,
    /// Local delivery of IPv4: echo, UDP services.
    Local4,
    /// Neighbor discovery: NS, NA, RS, RA, redirect.
    Nd,
    /// The security-group hook between lookup and rewrite.
    Filter,
    /// Neighbor resolution, copy into the TX batch, header rewrite.
    Rewrite,
    /// An ICMP error to the sender.
    IcmpError,
    /// A hand-over to a local service.
    Punt,
}

/// A local service that frames can be punted to: it runs off the worker's
/// loop and may do I/O (the DHCPv6 server waits for its lease journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// The DHCPv6 server (UDP 547).
    Dhcpv6,
    /// The DHCPv6-PD client on the external link (UDP 546).
    Dhcpv6Client,
}

/// Which ICMPv6 error to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmp6Error {
    /// Destination unreachable, code 4.
    PortUnreachable,
    /// Time exceeded, code 0.
    HopLimit,
    /// Destination unreachable, code 0.
    NoRoute,
    /// Destination unreachable, code 3.
    AddressUnreachable,
    /// Packet too big, with the egress MTU.
    PacketTooBig(u32),
}

/// Which ICMPv4 error to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmp4Error {
    /// Destination unreachable, code 3.
    PortUnreachable,
    /// Time exceeded, code 0.
    Ttl,
    /// Destination unreachable, code 0.
    NetUnreachable,
    /// Destination unreachable, code 1.
    HostUnreachable,
    /// Destination unreachable, code 4, with the next-hop MTU.
    FragNeeded(u16),
}

/// An ICMP error owed to the sender of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpError {
    V6(Icmp6Error),
    V4(Icmp4Error),
}

impl IcmpError {
    /// The drop the frame that caused the error counts as.
    pub const fn drop_reason(self) -> DropReason {
        match self {
            IcmpError::V6(Icmp6Error::PortUnreachable)
            | IcmpError::V4(Icmp4Error::PortUnreachable) => DropReason::UdpPortUnreachable,
            IcmpError::V6(Icmp6Error::HopLimit) => DropReason::HopLimitExceeded,
            IcmpError::V6(Icmp6Error::NoRoute) => DropReason::Ipv6NoRoute,
            IcmpError::V6(Icmp6Error::AddressUnreachable)
            | IcmpError::V4(Icmp4Error::HostUnreachable) => DropReason::NeighborUnreachable,
            IcmpError::V6(Icmp6Error::PacketTooBig(_)) => DropReason::Ipv6PacketTooBig,
            IcmpError::V4(Icmp4Error::Ttl) => DropReason::TtlExceeded,
            IcmpError::V4(Icmp4Error::NetUnreachable) => DropReason::Ipv4NoRoute,
            IcmpError::V4(Icmp4Error::FragNeeded(_)) => DropReason::Ipv4FragNeeded,
        }
    }
}

/// A next hop, held as an aligned integer: `IpAddr` is byte-aligned, and
/// moving it between the passes of a batch cost partial stores and
/// stalled loads (measured with perf on `cargo bench --bench forward`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    V6(u128),
    V4(u32),
}

impl Hop {
    /// The address.
    pub fn addr(self) -> IpAddr {
        match self {
            Hop::V6(a) => IpAddr::V6(Ipv6Addr::from(a)),
            Hop::V4(a) => IpAddr::V4(Ipv4Addr::from(a)),
        }
    }
}

impl From<IpAddr> for Hop {
    fn from(a: IpAddr) -> Hop {
        match a {
            IpAddr::V6(a) => Hop::V6(u128::from(a)),
            IpAddr::V4(a) => Hop::V4(u32::from(a)),
        }
    }
}

/// Where a transit packet goes: the lookup stage's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// Egress interface.
    pub egress: IfaceId,
    /// The neighbor whose link-layer address the frame goes to.
    pub next_hop: Hop,
    /// The FIB entry's adjacency (`route::NO_ADJACENCY` for on-link
    /// destinations, resolved per destination).
    pub adjacency: u32,
}

/// A stage's verdict on a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Transit: filter, then rewrite toward `egress`.
    Forward(Forward),
    /// Rewritten and in the TX batch.
    Forwarded,
    /// Answered locally (NA, RA, echo reply, ARP reply in the TX batch).
    Answered,
    /// Handed to a local service.
    Punt(Service),
    /// Dropped, with an ICMP error to the sender (rate permitting).
    IcmpError(IcmpError),
    /// Used on purpose, nothing to answer: not a drop.
    Consumed(Consumed),
    /// Dropped for a named reason.
    Drop(DropReason),
}

/// One step of a frame's path: a stage passed it on, or decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Passed on to the next stage.
    Pass,
    /// The stage's verdict.
    Verdict(Next),
}

/// Records the steps of a frame's path.
pub trait Tracer {
    /// Whether anything is recorded (a constant, so `NoTrace` costs nothing).
    const ENABLED: bool;
    /// Records one step.
    fn record(&mut self, stage: Stage, step: Step);
}

/// The fast path's tracer: records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn record(&mut self, _stage: Stage, _step: Step) {}
}

/// Every step of one frame's path, for `trace` (allocates; off the fast
/// path).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Trace {
    pub steps: Vec<(Stage, Step)>,
}

impl Tracer for Trace {
    const ENABLED: bool = true;
    fn record(&mut self, stage: Stage, step: Step) {
        self.steps.push((stage, step));
    }
}

impl Trace {
    /// The final verdict, if the path reached one.
    pub fn verdict(&self) -> Option<Next> {
        self.steps.iter().rev().find_map(|(_, s)| match s {
            Step::Verdict(n) => Some(*n),
            Step::Pass => None,
        })
    }

    /// The stages the frame went through, in order.
    pub fn stages(&self) -> Vec<Stage> {
        self.steps.iter().map(|(s, _)| *s).collect()
    }
}
