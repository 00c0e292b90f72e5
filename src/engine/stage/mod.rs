//! The stages of the per-frame path, one file each, in the order a frame
//! meets them:
//!
//! - [`l2`]: Ethernet: MAC checks, VLAN, EtherType.
//! - [`ip6_input`], [`ip4_input`]: the IP header, parse errors by name.
//! - [`lookup`]: one FIB lookup tells local (receive entries) from transit
//!   and gives the egress, next hop and adjacency; the transit checks
//!   (source, destination, hop limit, MTU) that decide ICMP errors.
//! - [`local`]: local delivery: ICMPv6 (to [`nd`]), echo, UDP services
//!   (DHCPv6 is punted), port unreachable.
//! - [`nd`], [`arp`]: neighbor discovery and ARP: answers and learning.
//! - [`filter`]: the security-group hook between lookup and rewrite.
//! - [`rewrite`]: the adjacency (or neighbor) gives the Ethernet header;
//!   one copy into the TX batch, hop limit / TTL rewritten; fragmentation.
//! - [`icmp_error`]: the errors forwarding owes its senders.
//! - [`resolve`]: the neighbor caches' side: learning, releasing queued
//!   packets, timers.
//!
//! [`l2`], [`ip6_input`], [`ip4_input`] and [`lookup`] read only the
//! shared config and FIB: the dispatcher runs them over a whole batch
//! first, then the stages that change worker state, frame by frame.

pub(crate) mod arp;
pub(crate) mod filter;
pub(crate) mod icmp_error;
pub(crate) mod ip4_input;
pub(crate) mod ip6_input;
pub(crate) mod l2;
pub(crate) mod local;
pub(crate) mod lookup;
pub(crate) mod nd;
pub(crate) mod resolve;
pub(crate) mod rewrite;

use crate::base::Instant;
use crate::wire::EthernetAddress;

use super::compiled::{CompiledConfig, IfaceConfig};
use super::stats::DropReason;

/// Whether local services answer, or only learn. A worker that digests its
/// copy of the ND/ARP traffic that another worker answers still learns
/// neighbors from it (and releases what waited for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Answer,
    LearnOnly,
}

/// What the stages after L2 read about the frame in hand.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub config: &'a CompiledConfig,
    pub ingress: &'a IfaceConfig,
    /// The frame's source MAC: the previous hop, where answers and ICMP
    /// errors go.
    pub src_mac: EthernetAddress,
    pub now: Instant,
    pub mode: Mode,
}

/// Why a neighbor could not be told `mac`, if it must not be: a
/// link-layer address no neighbor can have (RFC 1812 §3.3.2, RFC 4861
/// §7.2.5's "link-layer address of the neighbor").
pub(crate) fn bogus_link_addr(config: &CompiledConfig, mac: EthernetAddress) -> Option<DropReason> {
    if mac.is_multicast() {
        Some(DropReason::LinkAddrMulticast)
    } else if mac.0 == [0; 6] {
        Some(DropReason::LinkAddrZero)
    } else if config.ifaces.iter().any(|i| i.mac == mac) {
        Some(DropReason::LinkAddrOwn)
    } else {
        None
    }
}
