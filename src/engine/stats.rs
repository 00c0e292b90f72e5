//! Counters: one per drop reason and a few per event, per interface.
//!
//! Each [`DropReason`]'s doc comment is the counter's description (as in
//! VPP's error counters); `describe()` returns the same text for people.
//! Counters are plain `u64`s owned by one worker: no atomics on the fast
//! path. Aggregation across workers happens off the fast path.

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
    /// IPv6 header truncated, bad version or payload length past the frame.
    Ipv6Malformed => "ipv6_malformed",
    /// IPv6 extension header chain malformed or too long.
    Ipv6ExtHeaderMalformed => "ipv6_ext_header_malformed",
    /// IPv6 source is multicast.
    Ipv6SourceMulticast => "ipv6_source_multicast",
    /// IPv6 multicast to a group this router has not joined.
    Ipv6MulticastNotJoined => "ipv6_multicast_not_joined",
    /// IPv4 header truncated, bad version, bad IHL or length.
    Ipv4Malformed => "ipv4_malformed",
    /// IPv4 header checksum does not verify.
    Ipv4BadChecksum => "ipv4_bad_checksum",
    /// ICMPv6 message truncated or checksum does not verify.
    Icmpv6Malformed => "icmpv6_malformed",
    /// ICMPv4 message truncated or checksum does not verify.
    Icmpv4Malformed => "icmpv4_malformed",
    /// Neighbor discovery message failing RFC 4861 validation (hop limit, code, length, options).
    NdInvalid => "nd_invalid",
    /// Neighbor solicitation for an address that is not the router's.
    NdTargetNotOurs => "nd_target_not_ours",
    /// Router solicitation on an interface that sends no router advertisements.
    RsNoRa => "rs_no_ra",
    /// Solicited router advertisement suppressed by the rate limit.
    RsRateLimited => "rs_rate_limited",
    /// Router advertisement from another router (ignored; RA guard counts separately).
    RaFromOtherRouter => "ra_from_other_router",
    /// ND message this router consumes without answering (NA, redirect).
    NdConsumed => "nd_consumed",
    /// ICMPv6 type the router does not answer (MLD and others).
    Icmpv6Ignored => "icmpv6_ignored",
    /// ICMPv4 type the router does not answer.
    Icmpv4Ignored => "icmpv4_ignored",
    /// Local IPv6 packet of a protocol no local service handles.
    Ipv6LocalUnhandled => "ipv6_local_unhandled",
    /// Local IPv4 packet of a protocol no local service handles.
    Ipv4LocalUnhandled => "ipv4_local_unhandled",
    /// ARP packet malformed or not Ethernet/IPv4.
    ArpMalformed => "arp_malformed",
    /// ARP request for an address that is not the router's.
    ArpNotForUs => "arp_not_for_us",
    /// ARP reply or gratuitous ARP (consumed).
    ArpConsumed => "arp_consumed",
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

/// Counters of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceStats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Router solicitations received and valid.
    pub rx_rs: u64,
    /// Neighbor solicitations received and valid.
    pub rx_ns: u64,
    /// Router advertisements sent in answer to a solicitation.
    pub tx_ra_solicited: u64,
    /// Router advertisements sent by the periodic timer.
    pub tx_ra_unsolicited: u64,
    /// Neighbor advertisements sent.
    pub tx_na: u64,
    /// Echo replies sent (ICMPv6 and ICMPv4).
    pub tx_echo_reply: u64,
    /// ARP replies sent.
    pub tx_arp_reply: u64,
    /// Packets forwarded out of this interface (fragments count once each).
    pub tx_forwarded: u64,
    /// Neighbor solicitations and ARP requests sent.
    pub tx_solicit: u64,
    /// ICMP errors sent.
    pub tx_icmp_error: u64,
    /// ICMP errors not sent because of the rate limit (RFC 4443 §2.4(f)).
    pub icmp_error_rate_limited: u64,
    /// IPv4 fragments created.
    pub tx_fragments: u64,
    /// Drops, indexed by `DropReason as usize`.
    pub drops: [u64; DropReason::COUNT],
}

impl Default for IfaceStats {
    fn default() -> Self {
        IfaceStats {
            rx_frames: 0,
            rx_bytes: 0,
            tx_frames: 0,
            tx_bytes: 0,
            rx_rs: 0,
            rx_ns: 0,
            tx_ra_solicited: 0,
            tx_ra_unsolicited: 0,
            tx_na: 0,
            tx_echo_reply: 0,
            tx_arp_reply: 0,
            tx_forwarded: 0,
            tx_solicit: 0,
            tx_icmp_error: 0,
            icmp_error_rate_limited: 0,
            tx_fragments: 0,
            drops: [0; DropReason::COUNT],
        }
    }
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

    /// The named event counters, for printing.
    pub fn events(&self) -> [(&'static str, u64); 16] {
        [
            ("rx_frames", self.rx_frames),
            ("rx_bytes", self.rx_bytes),
            ("tx_frames", self.tx_frames),
            ("tx_bytes", self.tx_bytes),
            ("rx_rs", self.rx_rs),
            ("rx_ns", self.rx_ns),
            ("tx_ra_solicited", self.tx_ra_solicited),
            ("tx_ra_unsolicited", self.tx_ra_unsolicited),
            ("tx_na", self.tx_na),
            ("tx_echo_reply", self.tx_echo_reply),
            ("tx_arp_reply", self.tx_arp_reply),
            ("tx_forwarded", self.tx_forwarded),
            ("tx_solicit", self.tx_solicit),
            ("tx_icmp_error", self.tx_icmp_error),
            ("icmp_error_rate_limited", self.icmp_error_rate_limited),
            ("tx_fragments", self.tx_fragments),
        ]
    }

    /// Adds another worker's counters into these.
    pub fn merge(&mut self, other: &IfaceStats) {
        self.rx_frames += other.rx_frames;
        self.rx_bytes += other.rx_bytes;
        self.tx_frames += other.tx_frames;
        self.tx_bytes += other.tx_bytes;
        self.rx_rs += other.rx_rs;
        self.rx_ns += other.rx_ns;
        self.tx_ra_solicited += other.tx_ra_solicited;
        self.tx_ra_unsolicited += other.tx_ra_unsolicited;
        self.tx_na += other.tx_na;
        self.tx_echo_reply += other.tx_echo_reply;
        self.tx_arp_reply += other.tx_arp_reply;
        self.tx_forwarded += other.tx_forwarded;
        self.tx_solicit += other.tx_solicit;
        self.tx_icmp_error += other.tx_icmp_error;
        self.icmp_error_rate_limited += other.icmp_error_rate_limited;
        self.tx_fragments += other.tx_fragments;
        for (a, b) in self.drops.iter_mut().zip(other.drops.iter()) {
            *a += b;
        }
    }
}

#[cfg(test)]
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
