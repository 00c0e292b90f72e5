//! The comparison itself, shared by `tests/wire_oracle.rs` and the
//! `etherparse_oracle` fuzz target (which includes this file by path).
//!
//! [`compare_frame`] parses one Ethernet frame layer by layer with routelet's
//! `wire` views and with etherparse's slices, and returns a description of
//! the first disagreement. Each layer is handed the same bytes by both
//! sides: the comparison checks that the two agree on where a layer ends
//! before it goes on to the next one.
//!
//! The accepted differences are the variants of [`Known`]; each has its
//! reason in its doc comment, and [`compare_frame`] only takes one after
//! checking that its condition really holds for the frame at hand (so a
//! documented difference cannot hide an unrelated one).
//!
//! Checksums: under `cfg(fuzzing)` routelet's `verify` helpers always
//! succeed, so there the checksum comparisons are skipped.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::checksum::Sum16BitWords;
use etherparse::{
    Ethernet2Slice, Icmpv4Slice, Icmpv4Type, Icmpv6Slice, Icmpv6Type, IpNumber, Ipv4Slice,
    Ipv6ExtensionSlice, Ipv6ExtensionsSlice, Ipv6HeaderSlice, Ipv6Slice, SingleVlanSlice, TcpSlice,
    UdpSlice,
};
use routelet::wire::{
    walk_extension_headers, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet,
    Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, ParseError, TcpPacket,
    TcpRepr, UdpPacket, UdpRepr,
};

/// A documented, justified difference between the two parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Known {
    /// IPv4: routelet verifies the header checksum in `Repr::parse`
    /// (`BadChecksum`); etherparse's slices never do. Taken only when the
    /// checksum really is wrong (summed with etherparse's own helper).
    Ipv4Checksum,
    /// IPv4 carrying AH (protocol 51): etherparse parses the IPv4
    /// Authentication Header as part of the IP layer and rejects a bad one;
    /// routelet's IPv4 layer ends at the IPv4 header (the router neither
    /// terminates nor filters IPsec). Upper layers are not compared.
    Ipv4Auth,
    /// 802.1Q TPID 0x9100 (pre-standard QinQ): etherparse walks it as a VLAN
    /// tag, routelet reports it as an unknown EtherType (only 0x8100 and
    /// 0x88a8 are tags, as in Linux's and Open vSwitch's fast paths).
    Tpid9100,
    /// A second tag with TPID 0x88a8 (S-tag inside a tag): routelet says
    /// `Malformed` (802.1ad puts the S-tag outside); etherparse accepts it.
    InnerSTag,
    /// A third VLAN tag: routelet stops at two (`TooManyOptions`, 802.1ad
    /// double tagging); etherparse accepts up to three link extensions.
    ThirdTag,
    /// IPv6 Payload Length 0 with bytes after the header: etherparse treats
    /// it as a jumbogram (RFC 2675) and takes the rest of the buffer as the
    /// payload; routelet does not support jumbograms and reads an empty
    /// payload. The extension headers are then compared over the empty
    /// payload on both sides.
    Jumbogram,
    /// IPv6 Hop-by-Hop / Destination Options: routelet walks the option
    /// TLVs (overrun or a Router Alert of a length other than 2 is
    /// `BadLength`, more than 16 options `TooManyOptions`); etherparse only
    /// slices the header by its length. Taken only when the chain holds
    /// such a header.
    OptionTlvs,
    /// A second IPv6 Fragment header: routelet says `Malformed` (RFC 8200
    /// §4.1 allows one; a second would hide the first's M flag);
    /// etherparse walks it.
    SecondFragmentHeader,
    /// More than 8 IPv6 extension headers: routelet caps the walk
    /// (`TooManyOptions`, RFC 8504 §5.3); etherparse does not.
    ExtHeaderCap,
    /// A non-first IPv6 fragment: routelet ends the walk at the Fragment
    /// header (what follows is fragment data, not a header); etherparse
    /// goes on reading "headers" from the fragment data.
    NonFirstFragment,
    /// UDP Length 0: etherparse takes it as "whole buffer" (RFC 2675
    /// jumbogram); routelet rejects it with `BadLength`.
    UdpLengthZero,
    /// ICMPv4 Timestamp / Timestamp Reply (types 13, 14, code 0) of a
    /// length other than 20: etherparse rejects them; routelet's view needs
    /// the 8-octet header only, and its `Repr` has no Timestamp (the
    /// router does not answer them: `Malformed`).
    Icmpv4Timestamp,
    /// ICMPv6 Neighbor Discovery messages: routelet's `check_len` requires
    /// the RFC 4861 fixed part (RS 8, RA 16, NS/NA 24, Redirect 40 octets)
    /// and says `Truncated`; etherparse needs only the 8-octet header.
    NdFixedPart,
}

impl Known {
    /// Every variant, in declaration (and `Ord`) order.
    pub const ALL: [Known; 13] = [
        Known::Ipv4Checksum,
        Known::Ipv4Auth,
        Known::Tpid9100,
        Known::InnerSTag,
        Known::ThirdTag,
        Known::Jumbogram,
        Known::OptionTlvs,
        Known::SecondFragmentHeader,
        Known::ExtHeaderCap,
        Known::NonFirstFragment,
        Known::UdpLengthZero,
        Known::Icmpv4Timestamp,
        Known::NdFixedPart,
    ];
}

/// What a comparison saw: layers compared and differences taken.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub frames: usize,
    /// Both parsers rejected the frame at some layer.
    pub both_rejected: usize,
    pub ethernet: usize,
    pub vlan: usize,
    pub ipv4: usize,
    pub ipv6: usize,
    pub ipv6_ext: usize,
    pub udp: usize,
    pub tcp: usize,
    pub icmpv4: usize,
    pub icmpv6: usize,
    pub known: std::collections::BTreeMap<Known, usize>,
}

impl Stats {
    fn known(&mut self, k: Known) {
        *self.known.entry(k).or_default() += 1;
    }
}

/// The outcome of a disagreement: a message naming the layer and both
/// results.
pub type Disagreement = String;

type Outcome = Result<(), Disagreement>;

macro_rules! same {
    ($layer:literal, $field:literal, $ours:expr, $theirs:expr) => {{
        let (o, t) = (&$ours, &$theirs);
        if o != t {
            return Err(format!(
                "{}: {} differs: routelet {:?}, etherparse {:?}",
                $layer, $field, o, t
            ));
        }
    }};
}

fn disagree(layer: &str, ours: impl core::fmt::Debug, theirs: impl core::fmt::Debug) -> Outcome {
    Err(format!(
        "{layer}: accept/reject differs: routelet {ours:?}, etherparse {theirs:?}"
    ))
}

/// Whether the one's complement sum of `parts` is all ones (RFC 1071
/// verification), summed with etherparse's helper.
fn sum_ok(parts: &[&[u8]]) -> bool {
    parts
        .iter()
        .fold(Sum16BitWords::new(), |s, p| s.add_slice(p))
        .ones_complement()
        == 0
}

/// The IP addresses an upper layer's pseudo-header needs.
#[derive(Clone, Copy)]
enum Addrs {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Addrs {
    /// Pseudo-header bytes for `protocol` and `len` (RFC 768, RFC 8200 §8.1).
    fn pseudo(&self, protocol: u8, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        match self {
            Addrs::V4(s, d) => {
                out.extend_from_slice(&s.octets());
                out.extend_from_slice(&d.octets());
                out.extend_from_slice(&[0, protocol]);
                out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
            }
            Addrs::V6(s, d) => {
                out.extend_from_slice(&s.octets());
                out.extend_from_slice(&d.octets());
                out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, protocol]);
            }
        }
        out
    }
}

/// Compares one Ethernet frame (without FCS) layer by layer.
pub fn compare_frame(frame: &[u8], st: &mut Stats) -> Outcome {
    st.frames += 1;
    let ours_frame = EthernetFrame::new_checked(frame);
    let theirs = Ethernet2Slice::from_slice_without_fcs(frame);
    let (ours_frame, eth) = match (ours_frame, theirs) {
        (Ok(o), Ok(t)) => (o, t),
        (Err(_), Err(_)) => {
            st.both_rejected += 1;
            return Ok(());
        }
        (o, t) => return disagree("ethernet", o.map(|_| ()), t.map(|_| ())),
    };
    st.ethernet += 1;
    same!(
        "ethernet",
        "destination",
        ours_frame.dst_addr().0,
        eth.destination()
    );
    same!("ethernet", "source", ours_frame.src_addr().0, eth.source());
    same!(
        "ethernet",
        "ethertype",
        u16::from(ours_frame.ethertype()),
        eth.ether_type().0
    );

    // etherparse's tag walk: 0x8100, 0x88a8 and 0x9100 are tags, at most
    // three (SlicedPacket::LINK_EXTS_CAP).
    let mut their_tags: Vec<(u16, u16)> = Vec::new(); // (TPID, TCI)
    let mut their_type = eth.ether_type().0;
    let mut rest = eth.payload_slice();
    let mut their_err = None;
    while matches!(their_type, 0x8100 | 0x88a8 | 0x9100) && their_tags.len() < 3 {
        match SingleVlanSlice::from_slice(rest) {
            Ok(v) => {
                let h = v.header_slice();
                let tci = u16::from_be_bytes([h[0], h[1]]);
                if tci & 0x0fff != v.vlan_identifier().value() {
                    return Err("vlan: etherparse's VID is not the TCI's low 12 bits".into());
                }
                their_tags.push((their_type, tci));
                their_type = v.ether_type().0;
                rest = v.payload_slice();
            }
            Err(e) => {
                their_err = Some(e);
                break;
            }
        }
    }

    let repr = match EthernetRepr::parse(&ours_frame) {
        Ok(repr) => repr,
        Err(e) => {
            if their_err.is_some() {
                st.both_rejected += 1;
                return Ok(());
            }
            return match e {
                ParseError::Malformed if their_tags.get(1).is_some_and(|t| t.0 == 0x88a8) => {
                    st.known(Known::InnerSTag);
                    Ok(())
                }
                ParseError::TooManyOptions if their_tags.len() == 3 => {
                    st.known(Known::ThirdTag);
                    Ok(())
                }
                e => disagree("vlan", e, "accepted"),
            };
        }
    };
    let ours_tags: Vec<u16> = [repr.outer_vlan, repr.vlan]
        .iter()
        .flatten()
        .map(|t| t.tci())
        .collect();
    if !ours_tags.is_empty() {
        st.vlan += 1;
    }
    // Our walk is a prefix of theirs (their TPID set is a superset).
    for (i, tci) in ours_tags.iter().enumerate() {
        let Some(&(_, their_tci)) = their_tags.get(i) else {
            return disagree("vlan", &ours_tags, (&their_tags, &their_err));
        };
        same!("vlan", "TCI", *tci, their_tci);
    }
    let ours_type = u16::from(repr.ethertype);
    // We stop at a 0x9100 that etherparse takes as a tag (parsed, or cut
    // short).
    let n = ours_tags.len();
    if ours_type == 0x9100
        && (their_tags.get(n).is_some_and(|t| t.0 == 0x9100)
            || (their_tags.len() == n && their_err.is_some()))
    {
        st.known(Known::Tpid9100);
        return Ok(());
    }
    if let Some(e) = their_err {
        return disagree("vlan", "accepted", e);
    }
    same!("vlan", "tag count", ours_tags.len(), their_tags.len());
    same!("vlan", "inner ethertype", ours_type, their_type);
    let l3 = &frame[repr.header_len()..];
    same!("vlan", "L3 offset", l3.len(), rest.len());

    match ours_type {
        0x0800 => ipv4(l3, st),
        0x86dd => ipv6(l3, st),
        _ => Ok(()),
    }
}

fn ipv4(l3: &[u8], st: &mut Stats) -> Outcome {
    let view = Ipv4Packet::new_unchecked(l3);
    let ours = Ipv4Repr::parse(&view);
    let theirs = Ipv4Slice::from_slice(l3);
    let t = match (ours, theirs) {
        (Err(o), Err(t)) => {
            use etherparse::err::ipv4::{HeaderError, SliceError};
            let their_version =
                matches!(t, SliceError::Header(HeaderError::UnexpectedVersion { .. }));
            // Both check the version before the length fields.
            if (o == ParseError::BadVersion) != their_version {
                return Err(format!(
                    "ipv4: errors differ: routelet {o:?}, etherparse {t:?}"
                ));
            }
            st.both_rejected += 1;
            return Ok(());
        }
        (Err(ParseError::BadChecksum), Ok(t)) => {
            if sum_ok(&[t.header().slice()]) {
                return Err("ipv4: routelet says BadChecksum, the sum verifies".into());
            }
            st.known(Known::Ipv4Checksum);
            return Ok(());
        }
        (Ok(_), Err(t)) if view.protocol() == IpProtocol::Ah => {
            let _ = t;
            st.known(Known::Ipv4Auth);
            return Ok(());
        }
        (o, Ok(t)) if view.protocol() == IpProtocol::Ah && o.is_ok() => {
            let _ = t;
            st.known(Known::Ipv4Auth);
            return Ok(());
        }
        (Ok(t), Err(e)) => return disagree("ipv4", t, e),
        (Err(o), Ok(_)) => return disagree("ipv4", o, "accepted"),
        (Ok(_), Ok(t)) => t,
    };
    st.ipv4 += 1;
    let view =
        Ipv4Packet::new_checked(l3).map_err(|e| format!("ipv4: parse ok, check_len {e:?}"))?;
    let h = t.header();
    same!("ipv4", "version", view.version(), 4u8);
    same!(
        "ipv4",
        "header length",
        view.header_len(),
        usize::from(h.ihl()) * 4
    );
    same!("ipv4", "DSCP", view.dscp(), h.dcp().value());
    same!("ipv4", "ECN", view.ecn(), h.ecn().value());
    same!("ipv4", "total length", view.total_len(), h.total_len());
    same!(
        "ipv4",
        "identification",
        view.identification(),
        h.identification()
    );
    same!("ipv4", "DF", view.dont_frag(), h.dont_fragment());
    same!("ipv4", "MF", view.more_frags(), h.more_fragments());
    same!(
        "ipv4",
        "fragment offset",
        view.frag_offset(),
        h.fragments_offset().value() * 8
    );
    same!("ipv4", "TTL", view.ttl(), h.ttl());
    same!(
        "ipv4",
        "protocol",
        u8::from(view.protocol()),
        h.protocol().0
    );
    same!(
        "ipv4",
        "checksum field",
        view.checksum(),
        h.header_checksum()
    );
    same!("ipv4", "source", view.src_addr(), h.source_addr());
    same!("ipv4", "destination", view.dst_addr(), h.destination_addr());
    same!("ipv4", "options", view.options(), h.options());
    same!("ipv4", "payload", view.payload(), t.payload().payload);
    same!(
        "ipv4",
        "fragmented",
        view.is_fragment(),
        t.is_payload_fragmented()
    );
    if !cfg!(fuzzing) && !sum_ok(&[h.slice()]) {
        return Err("ipv4: routelet accepted a header whose checksum is wrong".into());
    }
    if view.is_fragment() {
        return Ok(());
    }
    let addrs = Addrs::V4(view.src_addr(), view.dst_addr());
    upper(u8::from(view.protocol()), view.payload(), addrs, st)
}

fn ipv6(l3: &[u8], st: &mut Stats) -> Outcome {
    use etherparse::err::ipv6::{HeaderError, SliceError};
    let ours = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(l3));
    let theirs = Ipv6Slice::from_slice(l3);
    let repr = match ours {
        Ok(r) => r,
        Err(o) => {
            let Err(t) = theirs else {
                return disagree("ipv6", o, "accepted");
            };
            let their_version =
                matches!(t, SliceError::Header(HeaderError::UnexpectedVersion { .. }));
            let their_len = matches!(t, SliceError::Len(_));
            let agree = match o {
                ParseError::BadVersion => their_version,
                // A Truncated header or payload: etherparse may also stop
                // on an extension header, but then it too saw a short one.
                ParseError::Truncated => their_len,
                _ => false,
            };
            if !agree {
                return Err(format!(
                    "ipv6: errors differ: routelet {o:?}, etherparse {t:?}"
                ));
            }
            st.both_rejected += 1;
            return Ok(());
        }
    };
    let view =
        Ipv6Packet::new_checked(l3).map_err(|e| format!("ipv6: parse ok, check_len {e:?}"))?;
    let h = Ipv6HeaderSlice::from_slice(l3)
        .map_err(|e| format!("ipv6: routelet accepted, etherparse header {e:?}"))?;
    st.ipv6 += 1;
    same!("ipv6", "version", view.version(), h.version());
    same!(
        "ipv6",
        "traffic class",
        view.traffic_class(),
        h.traffic_class()
    );
    same!(
        "ipv6",
        "flow label",
        view.flow_label(),
        h.flow_label().value()
    );
    same!(
        "ipv6",
        "payload length",
        view.payload_len(),
        h.payload_length()
    );
    same!(
        "ipv6",
        "next header",
        u8::from(view.next_header()),
        h.next_header().0
    );
    same!("ipv6", "hop limit", view.hop_limit(), h.hop_limit());
    same!("ipv6", "source", view.src_addr(), h.source_addr());
    same!("ipv6", "destination", view.dst_addr(), h.destination_addr());
    same!(
        "ipv6",
        "repr payload length",
        repr.payload_len,
        usize::from(h.payload_length())
    );

    let payload = view.payload();
    let jumbo = h.payload_length() == 0 && l3.len() > 40;
    if jumbo {
        st.known(Known::Jumbogram);
    } else {
        // The whole-packet slice must agree with header + walk below.
        let walk_ok = Ipv6ExtensionsSlice::from_slice(h.next_header(), payload).is_ok();
        if theirs.is_ok() != walk_ok {
            return Err(format!(
                "ipv6: etherparse's Ipv6Slice {:?} and its extension walk {walk_ok} differ",
                theirs.map(|_| ())
            ));
        }
        if let Ok(t) = &theirs {
            same!(
                "ipv6",
                "payload",
                payload.len(),
                usize::from(t.header().payload_length())
            );
        }
    }
    ipv6_ext(&view, payload, st)
}

fn ipv6_ext(view: &Ipv6Packet<&[u8]>, payload: &[u8], st: &mut Stats) -> Outcome {
    let ours = walk_extension_headers(view.next_header(), payload);
    let theirs = Ipv6ExtensionsSlice::from_slice(IpNumber(u8::from(view.next_header())), payload);
    let their_headers: Vec<Ipv6ExtensionSlice<'_>> = match &theirs {
        Ok((exts, _, _)) => exts.clone().into_iter().collect(),
        Err(_) => Vec::new(),
    };
    if !their_headers.is_empty() {
        st.ipv6_ext += 1;
    }
    match (ours, theirs) {
        (Err(o), Err(t)) => {
            use etherparse::err::ipv6_exts::{HeaderError, HeaderSliceError};
            let their_hbh = matches!(
                t,
                HeaderSliceError::Content(HeaderError::HopByHopNotAtStart)
            );
            // Our only Malformed is a Hop-by-Hop header out of place, and
            // etherparse walks the same headers to reach it. It may also
            // reach one we never get to, when an option TLV walk (which it
            // does not do) or the header cap stopped us first.
            // Or our Malformed is a second Fragment header, which etherparse
            // walked (and failed later) or found cut short.
            let frags_walked = fragment_headers_before_error(u8::from(view.next_header()), payload);
            let frag_cut = matches!(
                &t,
                HeaderSliceError::Len(l) if l.layer == etherparse::err::Layer::Ipv6FragHeader
            );
            let second_frag = frags_walked + usize::from(frag_cut) >= 2;
            let agree = match o {
                ParseError::Malformed => their_hbh || second_frag,
                ParseError::BadLength | ParseError::TooManyOptions => true,
                _ => !their_hbh,
            };
            if !agree {
                return Err(format!(
                    "ipv6 ext: errors differ: routelet {o:?}, etherparse {t:?}"
                ));
            }
            st.both_rejected += 1;
            Ok(())
        }
        (Err(o), Ok(_)) => {
            let has_options = their_headers.iter().any(|h| {
                matches!(
                    h,
                    Ipv6ExtensionSlice::HopByHop(_) | Ipv6ExtensionSlice::DestinationOptions(_)
                )
            });
            match o {
                ParseError::Malformed
                    if their_headers
                        .iter()
                        .filter(|h| matches!(h, Ipv6ExtensionSlice::Fragment(_)))
                        .count()
                        > 1 =>
                {
                    st.known(Known::SecondFragmentHeader);
                    Ok(())
                }
                ParseError::TooManyOptions if their_headers.len() > 8 => {
                    st.known(Known::ExtHeaderCap);
                    Ok(())
                }
                ParseError::BadLength | ParseError::TooManyOptions if has_options => {
                    st.known(Known::OptionTlvs);
                    Ok(())
                }
                o => disagree("ipv6 ext", o, "accepted"),
            }
        }
        (Ok(u), Err(t)) => {
            if u.is_non_first_fragment() {
                st.known(Known::NonFirstFragment);
                return Ok(());
            }
            disagree("ipv6 ext", u, t)
        }
        (Ok(u), Ok((exts, next, rest))) => {
            if u.is_non_first_fragment() {
                // Both stop right after the Fragment header when its Next
                // Header is not an extension header; else etherparse reads
                // on into the fragment data.
                if next.0 != u8::from(u.protocol) || exts.slice().len() != u.offset {
                    st.known(Known::NonFirstFragment);
                }
                return Ok(());
            }
            same!(
                "ipv6 ext",
                "upper-layer protocol",
                u8::from(u.protocol),
                next.0
            );
            same!(
                "ipv6 ext",
                "upper-layer offset",
                u.offset,
                exts.slice().len()
            );
            same!(
                "ipv6 ext",
                "upper-layer length",
                payload.len() - u.offset,
                rest.len()
            );
            let their_frag = their_headers.iter().rev().find_map(|h| match h {
                Ipv6ExtensionSlice::Fragment(f) => Some((
                    f.fragment_offset().value() * 8,
                    f.more_fragments(),
                    f.identification(),
                )),
                _ => None,
            });
            let our_frag = u
                .fragment
                .map(|f| (f.offset, f.more_fragments, f.identification));
            same!("ipv6 ext", "fragment header", our_frag, their_frag);
            let fragmented = u
                .fragment
                .is_some_and(|f| f.more_fragments || f.offset != 0);
            same!(
                "ipv6 ext",
                "fragmented",
                fragmented,
                exts.is_fragmenting_payload()
            );
            if fragmented {
                return Ok(());
            }
            let addrs = Addrs::V6(view.src_addr(), view.dst_addr());
            upper(next.0, rest, addrs, st)
        }
    }
}

/// How many Fragment headers etherparse's single-header parsers read
/// before the chain ends or one of them fails.
///
/// Not `Ipv6ExtensionsSlice::from_slice_lax(..).0.into_iter()`: in
/// etherparse 0.21 that iterator goes on past the headers the lax walk
/// parsed, into the one it failed on, through `from_slice_unchecked` (a
/// debug assertion, out-of-bounds reads in release builds).
fn fragment_headers_before_error(first: u8, payload: &[u8]) -> usize {
    use etherparse::{IpAuthHeaderSlice, Ipv6FragmentHeaderSlice, Ipv6RawExtHeaderSlice};
    let (mut next, mut rest, mut frags) = (first, payload, 0);
    loop {
        let (len, nh) = match next {
            0 | 43 | 60 => match Ipv6RawExtHeaderSlice::from_slice(rest) {
                Ok(h) => (h.slice().len(), h.next_header().0),
                Err(_) => return frags,
            },
            44 => match Ipv6FragmentHeaderSlice::from_slice(rest) {
                Ok(h) => {
                    frags += 1;
                    (h.slice().len(), h.next_header().0)
                }
                Err(_) => return frags,
            },
            51 => match IpAuthHeaderSlice::from_slice(rest) {
                Ok(h) => (h.slice().len(), h.next_header().0),
                Err(_) => return frags,
            },
            _ => return frags,
        };
        rest = rest.get(len..).unwrap_or_default();
        next = nh;
    }
}

fn upper(protocol: u8, seg: &[u8], addrs: Addrs, st: &mut Stats) -> Outcome {
    match (protocol, addrs) {
        (17, _) => udp(seg, addrs, st),
        (6, _) => tcp(seg, addrs, st),
        (1, Addrs::V4(..)) => icmpv4(seg, st),
        (58, Addrs::V6(src, dst)) => icmpv6(seg, &src, &dst, st),
        _ => Ok(()),
    }
}

fn udp(seg: &[u8], addrs: Addrs, st: &mut Stats) -> Outcome {
    let ours = UdpRepr::parse(&UdpPacket::new_unchecked(seg));
    let theirs = UdpSlice::from_slice(seg);
    let t = match (ours, theirs) {
        (Err(_), Err(_)) => {
            st.both_rejected += 1;
            return Ok(());
        }
        (Err(ParseError::BadLength), Ok(t)) if t.length() == 0 => {
            st.known(Known::UdpLengthZero);
            return Ok(());
        }
        (Ok(o), Err(t)) => return disagree("udp", o, t),
        (Err(o), Ok(_)) => return disagree("udp", o, "accepted"),
        (Ok(_), Ok(t)) => t,
    };
    st.udp += 1;
    let view =
        UdpPacket::new_checked(seg).map_err(|e| format!("udp: parse ok, check_len {e:?}"))?;
    same!("udp", "source port", view.src_port(), t.source_port());
    same!(
        "udp",
        "destination port",
        view.dst_port(),
        t.destination_port()
    );
    same!("udp", "length", view.len(), t.length());
    same!("udp", "checksum field", view.checksum(), t.checksum());
    same!("udp", "payload", view.payload(), t.payload());
    if !cfg!(fuzzing) {
        let pseudo = addrs.pseudo(17, t.slice().len());
        let sums = sum_ok(&[&pseudo, t.slice()]);
        let (ours, expected) = match addrs {
            // Zero: "no checksum" over IPv4, invalid over IPv6.
            Addrs::V4(s, d) => (view.verify_checksum_v4(&s, &d), t.checksum() == 0 || sums),
            Addrs::V6(s, d) => (view.verify_checksum_v6(&s, &d), t.checksum() != 0 && sums),
        };
        same!("udp", "checksum verifies", ours, expected);
    }
    Ok(())
}

fn tcp(seg: &[u8], addrs: Addrs, st: &mut Stats) -> Outcome {
    let ours = TcpRepr::parse(&TcpPacket::new_unchecked(seg));
    let theirs = TcpSlice::from_slice(seg);
    let t = match (ours, theirs) {
        (Err(_), Err(_)) => {
            st.both_rejected += 1;
            return Ok(());
        }
        (Ok(o), Err(t)) => return disagree("tcp", o, t),
        (Err(o), Ok(_)) => return disagree("tcp", o, "accepted"),
        (Ok(_), Ok(t)) => t,
    };
    st.tcp += 1;
    let view =
        TcpPacket::new_checked(seg).map_err(|e| format!("tcp: parse ok, check_len {e:?}"))?;
    same!("tcp", "source port", view.src_port(), t.source_port());
    same!(
        "tcp",
        "destination port",
        view.dst_port(),
        t.destination_port()
    );
    same!(
        "tcp",
        "sequence number",
        view.seq_number(),
        t.sequence_number()
    );
    same!(
        "tcp",
        "acknowledgment number",
        view.ack_number(),
        t.acknowledgment_number()
    );
    same!(
        "tcp",
        "header length",
        view.header_len(),
        usize::from(t.data_offset()) * 4
    );
    let their_flags = [
        t.fin(),
        t.syn(),
        t.rst(),
        t.psh(),
        t.ack(),
        t.urg(),
        t.ece(),
        t.cwr(),
    ]
    .iter()
    .enumerate()
    .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
    same!("tcp", "flags", view.flags().bits(), their_flags);
    same!("tcp", "window", view.window_len(), t.window_size());
    same!("tcp", "checksum field", view.checksum(), t.checksum());
    same!(
        "tcp",
        "urgent pointer",
        view.urgent_at(),
        t.urgent_pointer()
    );
    same!("tcp", "options", view.options(), t.options());
    same!("tcp", "payload", view.payload(), t.payload());
    if !cfg!(fuzzing) {
        let pseudo = addrs.pseudo(6, seg.len());
        let expected = sum_ok(&[&pseudo, seg]);
        let ours = match addrs {
            Addrs::V4(s, d) => view.verify_checksum_v4(&s, &d),
            Addrs::V6(s, d) => view.verify_checksum_v6(&s, &d),
        };
        same!("tcp", "checksum verifies", ours, expected);
    }
    Ok(())
}

fn icmpv4(seg: &[u8], st: &mut Stats) -> Outcome {
    let ours = Icmpv4Packet::new_checked(seg);
    let theirs = Icmpv4Slice::from_slice(seg);
    let (view, t) = match (ours, theirs) {
        (Err(_), Err(_)) => {
            st.both_rejected += 1;
            return Ok(());
        }
        (Ok(view), Err(_))
            if matches!(seg, [13 | 14, 0, ..])
                && seg.len() != 20
                && Icmpv4Repr::parse(&view).is_err() =>
        {
            st.known(Known::Icmpv4Timestamp);
            return Ok(());
        }
        (Ok(_), Err(t)) => return disagree("icmpv4", "accepted", t),
        (Err(o), Ok(_)) => return disagree("icmpv4", o, "accepted"),
        (Ok(o), Ok(t)) => (o, t),
    };
    st.icmpv4 += 1;
    same!("icmpv4", "type", u8::from(view.msg_type()), t.type_u8());
    same!("icmpv4", "code", view.msg_code(), t.code_u8());
    same!("icmpv4", "checksum field", view.checksum(), t.checksum());
    let b = t.bytes5to8();
    same!(
        "icmpv4",
        "echo identifier",
        view.echo_ident(),
        u16::from_be_bytes([b[0], b[1]])
    );
    same!(
        "icmpv4",
        "echo sequence",
        view.echo_seq_no(),
        u16::from_be_bytes([b[2], b[3]])
    );
    same!(
        "icmpv4",
        "next-hop MTU",
        view.next_hop_mtu(),
        u16::from_be_bytes([b[2], b[3]])
    );
    same!("icmpv4", "pointer", view.param_problem_ptr(), b[0]);
    // etherparse counts a Timestamp's three timestamps (12 octets) as
    // header; for us every ICMP header is 8 octets and the rest is data.
    let header_len = if matches!(seg, [13 | 14, 0, ..]) {
        20
    } else {
        8
    };
    same!("icmpv4", "header length", t.header_len(), header_len);
    same!(
        "icmpv4",
        "data",
        view.data().get(header_len - 8..),
        Some(t.payload())
    );
    let valid = sum_ok(&[seg]);
    if !cfg!(fuzzing) {
        same!("icmpv4", "checksum verifies", view.verify_checksum(), valid);
    }
    use etherparse::icmpv4::{DestUnreachableHeader, ParameterProblemHeader};
    match (Icmpv4Repr::parse(&view), t.icmp_type()) {
        (Err(ParseError::BadChecksum), _) if valid => {
            return Err("icmpv4: BadChecksum on a valid checksum".into());
        }
        (Err(ParseError::BadChecksum), _) => {}
        (
            Ok(Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }),
            Icmpv4Type::EchoRequest(h),
        )
        | (
            Ok(Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            }),
            Icmpv4Type::EchoReply(h),
        ) => {
            same!(
                "icmpv4",
                "echo",
                (ident, seq_no, data),
                (h.id, h.seq, t.payload())
            );
        }
        (
            Ok(Icmpv4Repr::DstUnreachable { next_hop_mtu, .. }),
            Icmpv4Type::DestinationUnreachable(h),
        ) => {
            if let DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: m } = h {
                same!("icmpv4", "frag-needed MTU", next_hop_mtu, m);
            }
        }
        // Our Destination Unreachable and Time Exceeded codes are total;
        // etherparse calls a code it does not know Unknown.
        (Ok(Icmpv4Repr::TimeExceeded { .. }), Icmpv4Type::TimeExceeded(_))
        | (
            Ok(Icmpv4Repr::TimeExceeded { .. } | Icmpv4Repr::DstUnreachable { .. }),
            Icmpv4Type::Unknown { .. },
        ) => {}
        (
            Ok(Icmpv4Repr::ParamProblem { pointer, .. }),
            Icmpv4Type::ParameterProblem(ParameterProblemHeader::PointerIndicatesError(p)),
        ) => same!("icmpv4", "pointer", pointer, p),
        // Echo with a code other than 0, Redirect, unknown types: no Repr.
        (Err(ParseError::Malformed), Icmpv4Type::Unknown { .. })
        | (Err(ParseError::Malformed), Icmpv4Type::Redirect(_))
        | (Err(ParseError::Malformed), Icmpv4Type::TimestampRequest(_))
        | (Err(ParseError::Malformed), Icmpv4Type::TimestampReply(_))
        | (
            Err(ParseError::Malformed),
            Icmpv4Type::ParameterProblem(
                ParameterProblemHeader::MissingRequiredOption | ParameterProblemHeader::BadLength,
            ),
        ) => {}
        (o, t) => {
            return Err(format!(
                "icmpv4: meaning differs: routelet {o:?}, etherparse {t:?}"
            ))
        }
    }
    Ok(())
}

fn icmpv6(seg: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr, st: &mut Stats) -> Outcome {
    let ours = Icmpv6Packet::new_checked(seg);
    let theirs = Icmpv6Slice::from_slice(seg);
    let (view, t) = match (ours, theirs) {
        (Err(_), Err(_)) => {
            st.both_rejected += 1;
            return Ok(());
        }
        (Err(ParseError::Truncated), Ok(t)) if (133..=137).contains(&t.type_u8()) => {
            st.known(Known::NdFixedPart);
            return Ok(());
        }
        (Ok(_), Err(t)) => return disagree("icmpv6", "accepted", t),
        (Err(o), Ok(_)) => return disagree("icmpv6", o, "accepted"),
        (Ok(o), Ok(t)) => (o, t),
    };
    st.icmpv6 += 1;
    same!("icmpv6", "type", u8::from(view.msg_type()), t.type_u8());
    same!("icmpv6", "code", view.msg_code(), t.code_u8());
    same!("icmpv6", "checksum field", view.checksum(), t.checksum());
    let b = t.bytes5to8();
    same!(
        "icmpv6",
        "echo identifier",
        view.echo_ident(),
        u16::from_be_bytes([b[0], b[1]])
    );
    same!(
        "icmpv6",
        "echo sequence",
        view.echo_seq_no(),
        u16::from_be_bytes([b[2], b[3]])
    );
    same!(
        "icmpv6",
        "MTU / pointer",
        view.pkt_too_big_mtu(),
        u32::from_be_bytes(b)
    );
    same!("icmpv6", "data", view.data(), t.payload());
    let valid = t.is_checksum_valid(src.octets(), dst.octets());
    if !cfg!(fuzzing) {
        same!(
            "icmpv6",
            "checksum verifies",
            view.verify_checksum(src, dst),
            valid
        );
    }
    match (Icmpv6Repr::parse(src, dst, &view), t.icmp_type()) {
        (Err(ParseError::BadChecksum), _) if valid => {
            return Err("icmpv6: BadChecksum on a valid checksum".into());
        }
        (Err(ParseError::BadChecksum), _) => {}
        (
            Ok(Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }),
            Icmpv6Type::EchoRequest(h),
        )
        | (
            Ok(Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            }),
            Icmpv6Type::EchoReply(h),
        ) => {
            same!(
                "icmpv6",
                "echo",
                (ident, seq_no, data),
                (h.id, h.seq, t.payload())
            );
        }
        (Ok(Icmpv6Repr::PktTooBig { mtu, .. }), Icmpv6Type::PacketTooBig { mtu: m }) => {
            same!("icmpv6", "MTU", mtu, m);
        }
        (Ok(Icmpv6Repr::ParamProblem { pointer, .. }), Icmpv6Type::ParameterProblem(h)) => {
            same!("icmpv6", "pointer", pointer, h.pointer);
        }
        // Echo with a code other than 0 has no Repr; etherparse calls it
        // Unknown.
        (
            Err(ParseError::Malformed),
            Icmpv6Type::Unknown {
                type_u8: 128 | 129, ..
            },
        ) => {}
        (Ok(Icmpv6Repr::EchoRequest { .. } | Icmpv6Repr::EchoReply { .. }), other) => {
            return Err(format!("icmpv6: routelet echo, etherparse {other:?}"));
        }
        (Err(ParseError::Malformed), Icmpv6Type::EchoRequest(_) | Icmpv6Type::EchoReply(_)) => {
            return Err("icmpv6: routelet rejects an echo etherparse reads".into());
        }
        // Other types: the meaning layers differ (ND, MLD); the raw fields
        // were compared above.
        _ => {}
    }
    Ok(())
}
