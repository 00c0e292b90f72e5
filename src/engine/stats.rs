//! Counters: one per drop reason and a few per event, per interface.
//!
//! Each [`DropReason`]'s doc comment is the counter's description (as in
//! VPP's error counters); `describe()` returns the same text for people.
//! Counters are plain `u64`s owned by one worker: no atomics on the fast
//! path. Aggregation across workers happens off the fast path.

use crate::wire::ParseError;

macro_rules! drop_reasons {
    ($( $(#[doc = $doc:literal])* $name:ident => $label:literal, )+) => {
        /// Why a frame was dropped. A frame not yet shown to be good is a drop.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $( $(#[doc = $doc])* $name, )+
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name),+];
            /// How many reasons there are.
            pub const COUNT: usize = DropReason::ALL.len();

            /// A stable snake_case name, used in `show stats` and metrics.
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$name => $label,)+ }
            }

            /// The counter's description: the variant's doc comment.
            pub fn describe(self) -> &'static str {
                match self { $(DropReason::$name => concat!($($doc),+).trim_ascii(),)+ }
            }
        }
    };
}

drop_reasons! {
    /// Frame shorter than an Ethernet header.
    EthernetTruncated => "ethernet_truncated",
    /// Ethernet header malformed (VLAN tags stacked too deep or cut short).
    EthernetMalformed => "ethernet_malformed",
    /// Destination MAC is neither ours, broadcast nor multicast.
    NotOurMac => "not_our_mac",
    /// 802.1Q-tagged frame on an interface without VLANs.
    VlanTagged => "vlan_tagged",
    /// EtherType this router does not handle.
    UnknownEthertype => "unknown_ethertype",
    /// Source MAC is multicast or broadcast.
    BadSourceMac => "bad_source_mac",
    /// Source MAC is the interface's own: a looped-back frame.
    OwnSourceMac => "own_source_mac",
    /// IPv6 packet shorter than its fixed header or than its Payload Length says.
    Ipv6Truncated => "ipv6_truncated",
    /// IPv6 version nibble is not 6.
    Ipv6BadVersion => "ipv6_bad_version",
    /// IPv6 header fields inconsistent.
    Ipv6Malformed => "ipv6_malformed",
    /// IPv6 extension header cut short by the payload.
    Ipv6ExtTruncated => "ipv6_ext_truncated",
    /// IPv6 extension header with an impossible length or option length.
    Ipv6ExtBadLength => "ipv6_ext_bad_length",
    /// IPv6 extension header chain or option list longer than the walk allows.
    Ipv6ExtTooMany => "ipv6_ext_too_many",
    /// IPv6 extension header chain malformed (misplaced hop-by-hop, bad option).
    Ipv6ExtHeaderMalformed => "ipv6_ext_header_malformed",
    /// IPv6 source is multicast.
    Ipv6SourceMulticast => "ipv6_source_multicast",
    /// IPv6 multicast to a group this router has not joined.
    Ipv6MulticastNotJoined => "ipv6_multicast_not_joined",
    /// IPv4 datagram shorter than its header or than its Total Length says.
    Ipv4Truncated => "ipv4_truncated",
    /// IPv4 version nibble is not 4.
    Ipv4BadVersion => "ipv4_bad_version",
    /// IPv4 IHL or Total Length impossible.
    Ipv4BadLength => "ipv4_bad_length",
    /// IPv4 header malformed.
    Ipv4Malformed => "ipv4_malformed",
    /// IPv4 header checksum does not verify.
    Ipv4BadChecksum => "ipv4_bad_checksum",
    /// IPv4 fragment whose offset plus length passes 65535 octets (RFC 791): malformed.
    Ipv4BadFragment => "ipv4_bad_fragment",
    /// ICMPv6 message shorter than its header.
    Icmpv6Truncated => "icmpv6_truncated",
    /// ICMPv6 checksum does not verify.
    Icmpv6BadChecksum => "icmpv6_bad_checksum",
    /// ICMPv6 message malformed for its type.
    Icmpv6Malformed => "icmpv6_malformed",
    /// ICMPv4 message shorter than its header.
    Icmpv4Truncated => "icmpv4_truncated",
    /// ICMPv4 checksum does not verify.
    Icmpv4BadChecksum => "icmpv4_bad_checksum",
    /// ICMPv4 message malformed for its type.
    Icmpv4Malformed => "icmpv4_malformed",
    /// Neighbor discovery message cut short.
    NdTruncated => "nd_truncated",
    /// Neighbor discovery option with a bad length, or too many options.
    NdBadOption => "nd_bad_option",
    /// Neighbor discovery message failing RFC 4861 validation (hop limit, code, length, options).
    NdInvalid => "nd_invalid",
    /// Neighbor solicitation for an address that is not the router's.
    NdTargetNotOurs => "nd_target_not_ours",
    /// ND or ARP message giving a broadcast or multicast link-layer address for a neighbor (dropped; the cache is left alone).
    LinkAddrMulticast => "link_addr_multicast",
    /// ND or ARP message giving the all-zeros link-layer address for a neighbor (dropped; the cache is left alone).
    LinkAddrZero => "link_addr_zero",
    /// ND or ARP message giving one of the router's own MACs for a neighbor (dropped; the cache is left alone).
    LinkAddrOwn => "link_addr_own",
    /// Router solicitation on an interface that sends no router advertisements.
    RsNoRa => "rs_no_ra",
    /// Solicited router advertisement suppressed by the rate limit.
    RsRateLimited => "rs_rate_limited",
    /// Router advertisement from another router (ignored; RA guard counts separately).
    RaFromOtherRouter => "ra_from_other_router",
    /// ICMPv6 type the router does not answer (MLD and others).
    Icmpv6Ignored => "icmpv6_ignored",
    /// ICMPv4 type the router does not answer.
    Icmpv4Ignored => "icmpv4_ignored",
    /// Local IPv6 packet of a protocol no local service handles.
    Ipv6LocalUnhandled => "ipv6_local_unhandled",
    /// Local IPv4 packet of a protocol no local service handles.
    Ipv4LocalUnhandled => "ipv4_local_unhandled",
    /// UDP to a router address on a port no service listens on (ICMP port unreachable sent, rate permitting).
    UdpPortUnreachable => "udp_port_unreachable",
    /// Frame for a local service (DHCPv6) that this process does not run
    /// (`replay` of a config without one; `run` always runs it).
    PuntNoService => "punt_no_service",
    /// Frame for a local service dropped: the service's queue is full.
    PuntQueueFull => "punt_queue_full",
    /// ARP packet cut short.
    ArpTruncated => "arp_truncated",
    /// ARP packet malformed or not Ethernet/IPv4.
    ArpMalformed => "arp_malformed",
    /// ARP request for an address that is not the router's.
    ArpNotForUs => "arp_not_for_us",
    /// Transit packet whose source is one of the router's own addresses (a spoof; Linux's martian source).
    SourceIsRouter => "source_is_router",
    /// Transit IPv6 packet with a link-local or unspecified source (never forwarded).
    Ipv6SourceNotForwardable => "ipv6_source_not_forwardable",
    /// Transit IPv6 packet to a link-local or multicast destination (never forwarded).
    Ipv6DestNotForwardable => "ipv6_dest_not_forwardable",
    /// IPv6 hop limit exhausted (ICMPv6 time exceeded sent, rate permitting).
    HopLimitExceeded => "hop_limit_exceeded",
    /// No IPv6 route to the destination (ICMPv6 no route sent, rate permitting).
    Ipv6NoRoute => "ipv6_no_route",
    /// IPv6 packet larger than the egress MTU (ICMPv6 packet too big sent, rate permitting).
    Ipv6PacketTooBig => "ipv6_packet_too_big",
    /// Transit IPv4 packet with a source that must not be forwarded (0/8, 127/8, 169.254/16, multicast, broadcast).
    Ipv4SourceNotForwardable => "ipv4_source_not_forwardable",
    /// Transit IPv4 packet to a destination that must not be forwarded (multicast, broadcast, 0/8, 127/8, 169.254/16).
    Ipv4DestNotForwardable => "ipv4_dest_not_forwardable",
    /// IPv4 TTL exhausted (ICMP time exceeded sent, rate permitting).
    TtlExceeded => "ttl_exceeded",
    /// No IPv4 route to the destination (ICMP net unreachable sent, rate permitting).
    Ipv4NoRoute => "ipv4_no_route",
    /// IPv4 packet with DF larger than the egress MTU (ICMP fragmentation needed sent, rate permitting).
    Ipv4FragNeeded => "ipv4_frag_needed",
    /// A route's next hop is of the other address family.
    NextHopFamilyMismatch => "next_hop_family_mismatch",
    /// Neighbor resolution refused: too many unresolved entries (RFC 6583).
    NeighborIncompleteLimit => "neighbor_incomplete_limit",
    /// Neighbor resolution refused: solicitation rate limit (RFC 6583).
    NeighborSolicitRateLimited => "neighbor_solicit_rate_limited",
    /// Neighbor resolution refused: the table is full of live entries.
    NeighborTableFull => "neighbor_table_full",
    /// Neighbor resolution refused: the next hop is not a unicast address.
    NeighborNotUnicast => "neighbor_not_unicast",
    /// Packet waiting for resolution dropped: queue full or packet too large.
    NeighborQueueFull => "neighbor_queue_full",
    /// Queued packet dropped: the neighbor never answered (ICMP unreachable sent, rate permitting).
    NeighborUnreachable => "neighbor_unreachable",
    /// Frame arrived on an interface index the router does not have.
    UnknownInterface => "unknown_interface",
}

/// Why a frame was used up without an answer: these are not drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Consumed {
    /// A neighbor advertisement, learned from.
    NeighborAdvert,
    /// A redirect (a router follows none).
    Redirect,
    /// An ARP reply or a gratuitous ARP, learned from.
    ArpReply,
    /// An ND or ARP copy that another worker answers, learned from here.
    LearnOnly,
    /// A transit packet waiting in the neighbor queue for resolution.
    Queued,
}

impl Consumed {
    /// Every kind, in counter order.
    pub const ALL: [Consumed; 5] = [
        Consumed::NeighborAdvert,
        Consumed::Redirect,
        Consumed::ArpReply,
        Consumed::LearnOnly,
        Consumed::Queued,
    ];
    /// How many kinds there are.
    pub const COUNT: usize = Consumed::ALL.len();

    /// A stable snake_case name, used in `show stats` and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Consumed::NeighborAdvert => "neighbor_advert",
            Consumed::Redirect => "redirect",
            Consumed::ArpReply => "arp_reply",
            Consumed::LearnOnly => "learn_only",
            Consumed::Queued => "queued",
        }
    }
}

impl DropReason {
    /// The IPv6 fixed header's parse error as a drop.
    pub const fn ipv6(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::Ipv6Truncated,
            ParseError::BadVersion => DropReason::Ipv6BadVersion,
            _ => DropReason::Ipv6Malformed,
        }
    }

    /// An extension-header walk's error as a drop.
    pub const fn ipv6_ext(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::Ipv6ExtTruncated,
            ParseError::BadLength => DropReason::Ipv6ExtBadLength,
            ParseError::TooManyOptions => DropReason::Ipv6ExtTooMany,
            _ => DropReason::Ipv6ExtHeaderMalformed,
        }
    }

    /// The IPv4 header's parse error as a drop.
    pub const fn ipv4(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::Ipv4Truncated,
            ParseError::BadVersion => DropReason::Ipv4BadVersion,
            ParseError::BadLength => DropReason::Ipv4BadLength,
            ParseError::BadChecksum => DropReason::Ipv4BadChecksum,
            _ => DropReason::Ipv4Malformed,
        }
    }

    /// An ICMPv6 parse error as a drop.
    pub const fn icmpv6(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::Icmpv6Truncated,
            ParseError::BadChecksum => DropReason::Icmpv6BadChecksum,
            _ => DropReason::Icmpv6Malformed,
        }
    }

    /// An ICMPv4 parse error as a drop.
    pub const fn icmpv4(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::Icmpv4Truncated,
            ParseError::BadChecksum => DropReason::Icmpv4BadChecksum,
            _ => DropReason::Icmpv4Malformed,
        }
    }

    /// An ND message's parse or validation error as a drop.
    pub const fn nd(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::NdTruncated,
            ParseError::BadLength | ParseError::TooManyOptions => DropReason::NdBadOption,
            _ => DropReason::NdInvalid,
        }
    }

    /// An ARP parse error as a drop.
    pub const fn arp(err: ParseError) -> DropReason {
        match err {
            ParseError::Truncated => DropReason::ArpTruncated,
            _ => DropReason::ArpMalformed,
        }
    }
}

/// Declares [`IfaceStats`]: each event counter is listed once, and the
/// struct, `Default`, `events()` and `merge()` follow from the list.
macro_rules! iface_stats {
    ($( $(#[doc = $doc:literal])* $name:ident, )+) => {
        /// Counters of one interface.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct IfaceStats {
            $( $(#[doc = $doc])* pub $name: u64, )+
            /// Drops, indexed by `DropReason as usize`.
            pub drops: [u64; DropReason::COUNT],
            /// Frames used up without an answer, indexed by `Consumed as usize`.
            pub consumed: [u64; Consumed::COUNT],
        }

        impl Default for IfaceStats {
            fn default() -> Self {
                IfaceStats {
                    $( $name: 0, )+
                    drops: [0; DropReason::COUNT],
                    consumed: [0; Consumed::COUNT],
                }
            }
        }

        impl IfaceStats {
            /// How many event counters there are.
            pub const EVENT_COUNT: usize = [$(stringify!($name)),+].len();

            /// The named event counters, for printing.
            pub fn events(&self) -> [(&'static str, u64); IfaceStats::EVENT_COUNT] {
                [$( (stringify!($name), self.$name), )+]
            }

            /// Adds another worker's counters into these.
            pub fn merge(&mut self, other: &IfaceStats) {
                $( self.$name += other.$name; )+
                for (a, b) in self.drops.iter_mut().zip(other.drops.iter()) {
                    *a += b;
                }
                for (a, b) in self.consumed.iter_mut().zip(other.consumed.iter()) {
                    *a += b;
                }
            }
        }
    };
}

iface_stats! {
    rx_frames,
    rx_bytes,
    tx_frames,
    tx_bytes,
    /// Router solicitations received and valid.
    rx_rs,
    /// Neighbor solicitations received and valid.
    rx_ns,
    /// Router advertisements sent in answer to a solicitation.
    tx_ra_solicited,
    /// Router advertisements sent by the periodic timer.
    tx_ra_unsolicited,
    /// Neighbor advertisements sent.
    tx_na,
    /// Echo replies sent (ICMPv6 and ICMPv4).
    tx_echo_reply,
    /// ARP replies sent.
    tx_arp_reply,
    /// Packets forwarded out of this interface (fragments count once each).
    tx_forwarded,
    /// Neighbor solicitations and ARP requests sent.
    tx_solicit,
    /// ICMP errors sent.
    tx_icmp_error,
    /// ICMP errors not sent because of the rate limit (RFC 4443 §2.4(f)).
    icmp_error_rate_limited,
    /// IPv4 fragments created.
    tx_fragments,
    /// Frames handed to a local service (DHCPv6).
    punted,
}

impl IfaceStats {
    /// Counts one drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        if let Some(c) = self.drops.get_mut(reason as usize) {
            *c += 1;
        }
    }

    /// The count for one reason.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops.get(reason as usize).copied().unwrap_or(0)
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Counts one frame used up on purpose.
    #[inline]
    pub fn consume(&mut self, kind: Consumed) {
        if let Some(c) = self.consumed.get_mut(kind as usize) {
            *c += 1;
        }
    }

    /// The count for one kind of consumed frame.
    pub fn consumed_for(&self, kind: Consumed) -> u64 {
        self.consumed.get(kind as usize).copied().unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_described() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for r in DropReason::ALL {
            assert!(!r.describe().is_empty(), "{r:?}");
            assert_eq!(DropReason::ALL[*r as usize], *r);
        }
        assert_eq!(
            DropReason::NdInvalid.describe(),
            "Neighbor discovery message failing RFC 4861 validation (hop limit, code, length, options)."
        );
    }

    #[test]
    fn count_and_merge() {
        let mut a = IfaceStats::default();
        a.drop(DropReason::NdInvalid);
        a.rx_frames = 2;
        let mut b = IfaceStats::default();
        b.drop(DropReason::NdInvalid);
        b.merge(&a);
        assert_eq!(b.drops_for(DropReason::NdInvalid), 2);
        assert_eq!(b.rx_frames, 2);
        assert_eq!(b.total_drops(), 2);
    }
}
