//! IPv6 extension-header walk (RFC 8200 §4): from the fixed header's Next
//! Header to the upper-layer protocol and its offset.
//!
//! Contract:
//!
//! - [`walk_extension_headers`] visits Hop-by-Hop Options (§4.3, only as the
//!   first header, else `Malformed`), Routing (§4.4), Fragment (§4.5, fixed
//!   8 bytes), Destination Options (§4.6) and Authentication Header
//!   (RFC 4302 §2.2: length in 4-octet units minus 2; Payload Len 0 is
//!   `BadLength`, shorter than AH's fixed part). Any other value,
//!   ESP and No Next Header (§4.7) included, ends the walk and is reported
//!   as the upper layer.
//! - Every header's length is checked against the bytes left before it is
//!   sliced (`Truncated` when the payload ends first). Zero is a legal
//!   length here (the fields count units beyond the first 8 bytes), so
//!   there is no zero-length rejection. At most [`MAX_EXTENSION_HEADERS`]
//!   headers are visited, then `TooManyOptions` (RFC 8504 §5.3 lets a node
//!   bound this; real traffic carries one or two).
//! - Inside Hop-by-Hop and Destination Options the option TLVs are walked:
//!   Pad1, PadN and Router Alert (RFC 2711, type 5, length 2) are
//!   recognised; an option running past its header is `BadLength`, a Router
//!   Alert whose length is not 2 is `BadLength` (Linux drops these too), and
//!   more than [`MAX_OPTIONS`] options in one header is `TooManyOptions`.
//!   Unrecognised options are skipped whatever their action bits say: this
//!   walk locates the upper layer for forwarding and filtering, and a
//!   router must not drop transit traffic over options it is not asked to
//!   process. Local delivery may apply RFC 8200 §4.2 on top.
//! - A second Fragment header is `Malformed` (RFC 8200 §4.1 allows one).
//! - A non-first fragment (offset != 0) ends the walk: the upper-layer
//!   header is in the first fragment, so the result carries the Fragment
//!   header's Next Header and the offset of the fragment data.
//! - No allocation, no indexing: reads go through `get`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::wire::ip::Protocol;
use crate::wire::{ParseError, Result};

/// Extension headers visited before `TooManyOptions`.
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// Options visited in one Hop-by-Hop or Destination Options header before
/// `TooManyOptions`, padding included (Linux likewise bounds options and
/// padding; RFC 8504 §5.3).
pub const MAX_OPTIONS: usize = 16;

/// Length of the Fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// Smallest AH Payload Len: 12 fixed octets, (1 + 2) * 4.
const AH_MIN_PAYLOAD_LEN: usize = 1;

const OPT_PAD1: u8 = 0;
const OPT_ROUTER_ALERT: u8 = 5;
const ROUTER_ALERT_LEN: usize = 2;

/// What a Fragment header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Fragment Offset in bytes (a multiple of 8).
    pub offset: u16,
    /// M flag: more fragments follow.
    pub more_fragments: bool,
    /// Identification.
    pub identification: u32,
}

/// Where the upper layer starts in an IPv6 payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpperLayer {
    /// The upper-layer protocol (`Ipv6NoNxt` if the chain ends with none;
    /// `Esp` for an encrypted payload).
    pub protocol: Protocol,
    /// Offset of the upper-layer header (or, for a non-first fragment, of
    /// the fragment data) from the start of the IPv6 payload.
    pub offset: usize,
    /// The Fragment header, if the packet had one.
    pub fragment: Option<FragmentInfo>,
    /// Whether the Hop-by-Hop header carried a Router Alert (MLD, RSVP).
    pub router_alert: bool,
}

impl UpperLayer {
    /// A fragment other than the first: there is no upper-layer header.
    pub fn is_non_first_fragment(&self) -> bool {
        self.fragment.is_some_and(|f| f.offset != 0)
    }
}

/// Walks the extension headers of an IPv6 payload (the bytes after the
/// fixed header, bounded by Payload Length), starting from the fixed
/// header's Next Header. See the module doc for the rules and errors.
pub fn walk_extension_headers(first: Protocol, payload: &[u8]) -> Result<UpperLayer> {
    let mut next = first;
    let mut offset = 0usize;
    let mut count = 0usize;
    let mut fragment = None;
    let mut router_alert = false;
    loop {
        match next {
            Protocol::HopByHop
            | Protocol::Ipv6Route
            | Protocol::Ipv6Frag
            | Protocol::Ipv6Opts
            | Protocol::Ah => {}
            protocol => {
                return Ok(UpperLayer {
                    protocol,
                    offset,
                    fragment,
                    router_alert,
                })
            }
        }
        if count == MAX_EXTENSION_HEADERS {
            return Err(ParseError::TooManyOptions);
        }
        if next == Protocol::HopByHop && count != 0 {
            return Err(ParseError::Malformed);
        }
        count += 1;

        let rest = payload.get(offset..).ok_or(ParseError::Truncated)?;
        let (next_header, hdr_ext_len) = match rest {
            [nh, len, ..] => (*nh, usize::from(*len)),
            _ => return Err(ParseError::Truncated),
        };
        // At most (255 + 2) * 4 or (255 + 1) * 8 = 2048: no overflow.
        let header_len = match next {
            Protocol::Ipv6Frag => FRAGMENT_HEADER_LEN,
            // Payload Len 0 would make an 8-octet AH, shorter than its own
            // 12 fixed octets (RFC 4302 §2.2: at least 1, a null ICV).
            Protocol::Ah if hdr_ext_len < AH_MIN_PAYLOAD_LEN => return Err(ParseError::BadLength),
            Protocol::Ah => (hdr_ext_len + 2) * 4,
            _ => (hdr_ext_len + 1) * 8,
        };
        let header = rest.get(..header_len).ok_or(ParseError::Truncated)?;

        match next {
            Protocol::HopByHop => router_alert = walk_options(header)?,
            Protocol::Ipv6Opts => {
                walk_options(header)?;
            }
            Protocol::Ipv6Frag => {
                // RFC 8200 §4.1: one Fragment header at most. A second one
                // would hide the first's More Fragments flag from the
                // caller, which reads `fragment` to know whether the
                // upper layer is whole.
                if fragment.is_some() {
                    return Err(ParseError::Malformed);
                }
                let info = parse_fragment(header)?;
                fragment = Some(info);
                if info.offset != 0 {
                    return Ok(UpperLayer {
                        protocol: Protocol::from(next_header),
                        offset: offset.saturating_add(FRAGMENT_HEADER_LEN),
                        fragment,
                        router_alert,
                    });
                }
            }
            // Routing and AH carry nothing the walk needs.
            _ => {}
        }
        // `header` was sliced from `payload`, so this stays <= payload.len().
        offset = offset.saturating_add(header_len);
        next = Protocol::from(next_header);
    }
}

/// Reads the 8-byte Fragment header.
fn parse_fragment(header: &[u8]) -> Result<FragmentInfo> {
    let [_, _, off_hi, off_lo, i0, i1, i2, i3] =
        <[u8; FRAGMENT_HEADER_LEN]>::try_from(header).map_err(|_| ParseError::Truncated)?;
    let word = u16::from_be_bytes([off_hi, off_lo]);
    Ok(FragmentInfo {
        // 13-bit offset in 8-octet units sits in the top bits: masking the
        // low three bits gives it in bytes.
        offset: word & 0xfff8,
        more_fragments: word & 0x0001 != 0,
        identification: u32::from_be_bytes([i0, i1, i2, i3]),
    })
}

/// Walks the option TLVs of a Hop-by-Hop or Destination Options header
/// (the whole header, Next Header and length bytes included). Returns
/// whether a Router Alert was seen.
fn walk_options(header: &[u8]) -> Result<bool> {
    let mut rest = header.get(2..).ok_or(ParseError::Truncated)?;
    let mut seen = 0usize;
    let mut router_alert = false;
    while let Some((&option_type, tail)) = rest.split_first() {
        if seen == MAX_OPTIONS {
            return Err(ParseError::TooManyOptions);
        }
        seen += 1;
        if option_type == OPT_PAD1 {
            rest = tail;
            continue;
        }
        // A type byte with no room for its length also overruns the header.
        let (&data_len, tail) = tail.split_first().ok_or(ParseError::BadLength)?;
        let data_len = usize::from(data_len);
        if data_len > tail.len() {
            return Err(ParseError::BadLength);
        }
        if option_type == OPT_ROUTER_ALERT {
            if data_len != ROUTER_ALERT_LEN {
                return Err(ParseError::BadLength);
            }
            router_alert = true;
        }
        rest = tail.get(data_len..).ok_or(ParseError::BadLength)?;
    }
    Ok(router_alert)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// forwarding-qr0.pcap frame 1, IPv6 payload: an MLDv2 report behind a
    /// Hop-by-Hop header with Router Alert.
    static MLD_PAYLOAD: [u8; 36] = [
        0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01,
        0x00, // HBH: next ICMPv6, len 0, RA 0 (MLD), PadN 0
        0x8f, 0x00, 0x14, 0x45, 0x00, 0x00, 0x00, 0x01, // ICMPv6 MLDv2 report, 1 record
        0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00,
        0x00, // record: change to exclude, ff02::1:ff79:5acc
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0xff, 0x79, 0x5a, 0xcc, //
    ];

    /// HBH -> Destination Options -> Routing -> Fragment (first) -> AH -> UDP.
    static CHAIN: [u8; 60] = [
        0x3c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // HBH: next DestOpts, PadN 4
        0x2b, 0x01, 0x01, 0x0c, 0x00, 0x00, 0x00,
        0x00, // DestOpts: next Routing, len 1 (16 bytes), PadN 12
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x2c, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
        0x00, // Routing: next Fragment, type 4, segments left 0
        0x33, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe,
        0xef, // Fragment: next AH, offset 0, M, id 0xdeadbeef
        0x11, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, // AH: next UDP, len 1 (12 bytes), SPI 0x100
        0x00, 0x00, 0x00, 0x01, // AH sequence number
        0xc2, 0x6b, 0x82, 0x9b, 0x00, 0x08, 0x00, 0x00, // UDP header
    ];

    /// A non-first fragment: offset 1232, last, carrying UDP data.
    static LATER_FRAGMENT: [u8; 12] = [
        0x11, 0x00, 0x04, 0xd0, 0x00, 0x00, 0x00,
        0x2a, // Fragment: next UDP, offset 154 units, id 42
        0x00, 0x01, 0x02, 0x03, // fragment data
    ];

    #[test]
    fn no_extension_headers() {
        assert_eq!(
            walk_extension_headers(Protocol::Tcp, &[0u8; 20]),
            Ok(UpperLayer {
                protocol: Protocol::Tcp,
                offset: 0,
                fragment: None,
                router_alert: false,
            })
        );
    }

    #[test]
    fn mld_router_alert() {
        assert_eq!(
            walk_extension_headers(Protocol::HopByHop, &MLD_PAYLOAD),
            Ok(UpperLayer {
                protocol: Protocol::Icmpv6,
                offset: 8,
                fragment: None,
                router_alert: true,
            })
        );
    }

    #[test]
    fn full_chain() {
        let upper = walk_extension_headers(Protocol::HopByHop, &CHAIN).unwrap();
        assert_eq!(
            upper,
            UpperLayer {
                protocol: Protocol::Udp,
                offset: 52,
                fragment: Some(FragmentInfo {
                    offset: 0,
                    more_fragments: true,
                    identification: 0xdead_beef,
                }),
                router_alert: false,
            }
        );
        assert!(!upper.is_non_first_fragment());
        assert_eq!(&CHAIN[upper.offset..upper.offset + 2], &[0xc2, 0x6b]);
    }

    #[test]
    fn non_first_fragment_stops() {
        let upper = walk_extension_headers(Protocol::Ipv6Frag, &LATER_FRAGMENT).unwrap();
        assert_eq!(
            upper,
            UpperLayer {
                protocol: Protocol::Udp,
                offset: 8,
                fragment: Some(FragmentInfo {
                    offset: 1232,
                    more_fragments: false,
                    identification: 42,
                }),
                router_alert: false,
            }
        );
        assert!(upper.is_non_first_fragment());
    }

    #[test]
    fn no_next_header() {
        let opts = [0x3b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00];
        let upper = walk_extension_headers(Protocol::Ipv6Opts, &opts).unwrap();
        assert_eq!(upper.protocol, Protocol::Ipv6NoNxt);
        assert_eq!(upper.offset, 8);
    }

    #[test]
    fn esp_ends_the_walk() {
        let upper = walk_extension_headers(Protocol::Esp, &[0u8; 16]).unwrap();
        assert_eq!(upper.protocol, Protocol::Esp);
        assert_eq!(upper.offset, 0);
    }

    #[test]
    fn pad1_and_unknown_options_are_skipped() {
        // Pad1, Pad1, then unknown type 0x3e (action bits 00: skip) len 2.
        let hbh = [0x06, 0x00, 0x00, 0x00, 0x3e, 0x02, 0xaa, 0xbb];
        let upper = walk_extension_headers(Protocol::HopByHop, &hbh).unwrap();
        assert_eq!(upper.protocol, Protocol::Tcp);
        assert!(!upper.router_alert);
    }

    #[test]
    fn eight_headers_are_allowed() {
        let mut payload = [0u8; 64];
        for i in 0..8 {
            let next = if i == 7 { 17 } else { 60 };
            payload[i * 8..i * 8 + 4].copy_from_slice(&[next, 0x00, 0x01, 0x04]);
        }
        let upper = walk_extension_headers(Protocol::Ipv6Opts, &payload).unwrap();
        assert_eq!(upper.protocol, Protocol::Udp);
        assert_eq!(upper.offset, 64);
    }

    #[test]
    fn rejects_hop_by_hop_not_first() {
        let mut payload = [0u8; 16];
        payload[..4].copy_from_slice(&[0x00, 0x00, 0x01, 0x04]); // DestOpts -> HBH
        payload[8..12].copy_from_slice(&[0x06, 0x00, 0x01, 0x04]);
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Opts, &payload),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_header_shorter_than_two_bytes() {
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Route, &[0x06]),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_header_len_beyond_payload() {
        // Destination Options says 16 bytes, 8 are there.
        let opts = [0x06, 0x01, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Opts, &opts),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_truncated_fragment_header() {
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Frag, &LATER_FRAGMENT[..7]),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_truncated_ah() {
        // AH length 4 => 24 bytes, 12 present.
        let ah = [0x11, 0x04, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        assert_eq!(
            walk_extension_headers(Protocol::Ah, &ah),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_a_second_fragment_header() {
        // Found by the etherparse oracle's fuzz target: a first fragment
        // (offset 0, M = 1) whose Next Header is another Fragment header
        // with M = 0 used to come back as an unfragmented UDP datagram.
        let frags = [
            44, 0, 0, 1, 0, 0, 0, 7, // Fragment, offset 0, M = 1
            17, 0, 0, 0, 0, 0, 0, 8, // Fragment, offset 0, M = 0
            0, 0, 0, 0, 0, 8, 0, 0, // UDP
        ];
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Frag, &frags),
            Err(ParseError::Malformed)
        );
        // One of them alone is fine.
        let upper = walk_extension_headers(Protocol::Ipv6Frag, &frags[8..]).unwrap();
        assert_eq!((upper.protocol, upper.offset), (Protocol::Udp, 8));
    }

    #[test]
    fn rejects_zero_length_auth_header() {
        // Found by the etherparse oracle: Payload Len 0 was read as an
        // 8-octet header and the walk went on at octet 8, inside the SPI
        // and Sequence Number fields.
        let ah = [59, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        assert_eq!(
            walk_extension_headers(Protocol::Ah, &ah),
            Err(ParseError::BadLength)
        );
        // Payload Len 1, null ICV: the smallest AH, 12 octets.
        let ah = [59, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        let upper = walk_extension_headers(Protocol::Ah, &ah).unwrap();
        assert_eq!((upper.protocol, upper.offset), (Protocol::Ipv6NoNxt, 12));
    }

    #[test]
    fn rejects_option_overrunning_header() {
        // PadN claims 5 data bytes; only 4 remain in the header.
        let hbh = [0x06, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(
            walk_extension_headers(Protocol::HopByHop, &hbh),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_option_type_without_length() {
        // PadN 3 then a lone type byte in the last position.
        let hbh = [0x06, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01];
        assert_eq!(
            walk_extension_headers(Protocol::HopByHop, &hbh),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_router_alert_bad_length() {
        let hbh = [0x3a, 0x00, 0x05, 0x01, 0x00, 0x01, 0x01, 0x00];
        assert_eq!(
            walk_extension_headers(Protocol::HopByHop, &hbh),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_nine_headers() {
        let mut payload = [0u8; 80];
        for i in 0..9 {
            payload[i * 8..i * 8 + 4].copy_from_slice(&[60, 0x00, 0x01, 0x04]);
        }
        payload[72] = 17;
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Opts, &payload),
            Err(ParseError::TooManyOptions)
        );
    }

    #[test]
    fn rejects_too_many_options() {
        // 24-byte Destination Options: 22 Pad1.
        let mut opts = [0u8; 24];
        opts[0] = 17;
        opts[1] = 2;
        assert_eq!(
            walk_extension_headers(Protocol::Ipv6Opts, &opts),
            Err(ParseError::TooManyOptions)
        );
    }
}
