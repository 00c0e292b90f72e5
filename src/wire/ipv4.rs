//! IPv4 header (RFC 791), with the pieces a forwarding router needs: header
//! checksum (RFC 1071), incremental TTL decrement (RFC 1624, RFC 1812
//! §5.3.1) and fragment inspection.
//!
//! Contract:
//!
//! - [`Packet::check_len`] accepts a buffer only if it holds the whole
//!   header and the whole datagram: buffer >= 20 (`Truncated`), IHL >= 5
//!   (`BadLength`), IHL * 4 <= buffer (`Truncated`), Total Length >= IHL * 4
//!   (`BadLength`: the field contradicts the header itself) and Total Length
//!   <= buffer (`Truncated`: the datagram was cut short). After that no
//!   accessor can panic.
//! - [`Packet::payload`] is bounded by Total Length, so Ethernet
//!   minimum-size padding after the datagram is ignored.
//! - [`Repr::parse`] adds the semantic checks: version 4 (`BadVersion`,
//!   checked before the length fields so an IPv6 packet is reported as
//!   such) and the header checksum (`BadChecksum`). Fragments parse like any
//!   datagram; ask [`Packet::is_fragment`] before treating the payload as a
//!   whole upper-layer message (routelet does not reassemble).
//! - [`Repr::emit`] writes a 20-byte header (no options, DSCP/ECN 0, MF 0,
//!   offset 0) and fills the checksum.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;

use crate::wire::checksum;
use crate::wire::ip::Protocol;
use crate::wire::{ParseError, Result};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Flags and Fragment Offset word bits.
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view over an IPv4 datagram.
///
/// Once [`Packet::new_checked`] succeeds no accessor can panic: the buffer
/// holds the header (IHL) and the datagram (Total Length), and
/// 20 <= IHL * 4 <= Total Length <= buffer length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and runs [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer against the fixed header, IHL and Total Length
    /// (see the module doc for which error each failure gives).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(ParseError::BadLength);
        }
        if header_len > len {
            return Err(ParseError::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(ParseError::BadLength);
        }
        if total_len > len {
            return Err(ParseError::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Whether this datagram is a fragment: More Fragments set or a
    /// non-zero offset. A router that does not reassemble must not read an
    /// upper-layer header from it unless the offset is zero.
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }
}

// check_len covers field::VER_IHL..field::DST_ADDR (20 octets), the
// options up to IHL * 4 and the payload up to Total Length, in that order.
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]>> Packet<T> {
    fn be16(&self, range: core::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[range];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Version (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Internet Header Length, in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated Services Code Point (RFC 2474).
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit Congestion Notification (RFC 3168).
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total Length: header plus data, in bytes.
    pub fn total_len(&self) -> u16 {
        self.be16(field::LENGTH)
    }

    /// Identification.
    pub fn identification(&self) -> u16 {
        self.be16(field::IDENT)
    }

    /// Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_DF != 0
    }

    /// More Fragments flag.
    pub fn more_frags(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment Offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (self.be16(field::FLG_OFF) & OFFSET_MASK) << 3
    }

    /// Time to Live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> Protocol {
        Protocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header Checksum.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Source Address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// Destination Address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// The options area (bytes 20 to IHL * 4), not interpreted.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The data, from IHL * 4 to Total Length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }

    /// Whether the header checksum verifies (always true under fuzzing).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(0, &self.buffer.as_ref()[..self.header_len()])
    }
}

// Setters index like the getters: on a view that passed check_len, or on
// an emit buffer of at least `Repr::buffer_len()` octets (the documented
// emit contract, which panics otherwise, as smoltcp's does).
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the Version nibble.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Sets IHL from a length in bytes (rounded down to 4-byte units).
    pub fn set_header_len(&mut self, len: usize) {
        // Masked to 4 bits, so the cast keeps every bit.
        #[allow(clippy::cast_possible_truncation)]
        let ihl = ((len / 4) & 0x0f) as u8;
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ihl;
    }

    /// Sets the DSCP (6 bits).
    pub fn set_dscp(&mut self, dscp: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (dscp << 2);
    }

    /// Sets the ECN (2 bits).
    pub fn set_ecn(&mut self, ecn: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (ecn & 0x03);
    }

    /// Sets Total Length.
    pub fn set_total_len(&mut self, len: u16) {
        self.set_be16(field::LENGTH, len);
    }

    /// Sets Identification.
    pub fn set_identification(&mut self, ident: u16) {
        self.set_be16(field::IDENT, ident);
    }

    /// Clears the flags and the fragment offset (the reserved bit too).
    pub fn clear_flags(&mut self) {
        self.set_be16(field::FLG_OFF, 0);
    }

    /// Sets or clears Don't Fragment.
    pub fn set_dont_frag(&mut self, value: bool) {
        let w = self.be16(field::FLG_OFF);
        let w = if value { w | FLAG_DF } else { w & !FLAG_DF };
        self.set_be16(field::FLG_OFF, w);
    }

    /// Sets or clears More Fragments.
    pub fn set_more_frags(&mut self, value: bool) {
        let w = self.be16(field::FLG_OFF);
        let w = if value { w | FLAG_MF } else { w & !FLAG_MF };
        self.set_be16(field::FLG_OFF, w);
    }

    /// Sets the Fragment Offset from bytes (rounded down to 8-byte units).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let w = self.be16(field::FLG_OFF);
        self.set_be16(field::FLG_OFF, (w & !OFFSET_MASK) | (offset >> 3));
    }

    /// Sets Time to Live (the checksum is not touched).
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets Protocol.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Sets Header Checksum.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Sets Source Address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets Destination Address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The data, mutable (IHL * 4 to Total Length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }

    /// Computes and stores the header checksum over IHL * 4 bytes.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::finish(0, &self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(value);
    }

    /// Forwarding fast path: TTL -= 1 with the checksum adjusted by
    /// RFC 1624 eqn. 3 over the TTL/Protocol word, not recomputed. Returns
    /// the new TTL; a TTL already 0 is left alone (and 0 returned) — the
    /// caller checks `ttl() <= 1` first to send Time Exceeded.
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        let ttl = self.ttl();
        let Some(new_ttl) = ttl.checked_sub(1) else {
            return 0;
        };
        let protocol = self.buffer.as_ref()[field::PROTOCOL];
        let old_word = u16::from_be_bytes([ttl, protocol]);
        let new_word = u16::from_be_bytes([new_ttl, protocol]);
        let sum = checksum::update(self.checksum(), old_word, new_word);
        self.set_ttl(new_ttl);
        self.set_checksum(sum);
        new_ttl
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaning of an IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub next_header: Protocol,
    /// Bytes of data after the header (Total Length minus IHL * 4).
    pub payload_len: usize,
    /// Time to Live.
    pub hop_limit: u8,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// Identification; RFC 6864 lets an atomic (DF, unfragmented)
    /// datagram use any value, so locally built packets with DF may use 0.
    pub identification: u16,
}

impl Repr {
    /// Parses and validates a header.
    ///
    /// Errors: `Truncated` / `BadLength` from [`Packet::check_len`],
    /// `BadVersion` if the version is not 4, `BadChecksum`.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if packet.as_ref().len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        if packet.version() != 4 {
            return Err(ParseError::BadVersion);
        }
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.protocol(),
            payload_len: packet.payload().len(),
            hop_limit: packet.ttl(),
            dont_frag: packet.dont_frag(),
            identification: packet.identification(),
        })
    }

    /// Header length `emit` writes: always 20 (no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header (Total Length = 20 + `payload_len`) and fills the
    /// checksum. The payload is the caller's to write.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`. A `payload_len` above
    /// 65515 cannot be represented; Total Length saturates at 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let total = u16::try_from(HEADER_LEN.saturating_add(self.payload_len)).unwrap_or(u16::MAX);
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp(0);
        packet.set_ecn(0);
        packet.set_total_len(total);
        packet.set_identification(self.identification);
        packet.clear_flags();
        packet.set_dont_frag(self.dont_frag);
        packet.set_ttl(self.hop_limit);
        packet.set_protocol(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const VM: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 4);
    const REMOTE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

    /// forwarding-qr0.pcap frame 25: the VM pings 203.0.113.1 (ICMP body
    /// shortened to its 8-byte header plus 8 data bytes).
    static PING: [u8; 36] = [
        0x45, 0x00, 0x00, 0x24, // version 4, IHL 5, DSCP 0, ECN 0, total length 36
        0xed, 0xf9, 0x40, 0x00, // identification 0xedf9, DF, offset 0
        0x40, 0x01, 0x00, 0x00, // TTL 64, protocol ICMP, checksum (filled below)
        0xc6, 0x33, 0x64, 0x04, // source 198.51.100.4
        0xcb, 0x00, 0x71, 0x01, // destination 203.0.113.1
        0x08, 0x00, 0x26, 0x49, 0x3d, 0x5a, 0x00, 0x01, // ICMP echo request header
        0x2c, 0x2e, 0x0c, 0x6b, 0x00, 0x00, 0x00, 0x00, // ICMP data
    ];

    /// The captured header as on the wire (total length 84, checksum e675).
    static CAPTURED_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, // version 4, IHL 5, total length 84
        0xed, 0xf9, 0x40, 0x00, // identification 0xedf9, DF
        0x40, 0x01, 0xe6, 0x75, // TTL 64, ICMP, checksum 0xe675
        0xc6, 0x33, 0x64, 0x04, // source 198.51.100.4
        0xcb, 0x00, 0x71, 0x01, // destination 203.0.113.1
    ];

    fn ping() -> [u8; 36] {
        let mut bytes = PING;
        Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        bytes
    }

    fn ping_repr() -> Repr {
        Repr {
            src_addr: VM,
            dst_addr: REMOTE,
            next_header: Protocol::Icmp,
            payload_len: 16,
            hop_limit: 64,
            dont_frag: true,
            identification: 0xedf9,
        }
    }

    #[test]
    fn deconstruct() {
        let bytes = ping();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp(), 0);
        assert_eq!(p.ecn(), 0);
        assert_eq!(p.total_len(), 36);
        assert_eq!(p.identification(), 0xedf9);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), Protocol::Icmp);
        assert_eq!(p.src_addr(), VM);
        assert_eq!(p.dst_addr(), REMOTE);
        assert_eq!(p.options(), &[] as &[u8]);
        assert_eq!(p.payload(), &PING[20..]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn captured_checksum_verifies() {
        // The header's own checksum over the real bytes, then the TTL
        // decrement the reference router applied (64 -> 63, e675 -> e775).
        let mut bytes = [0u8; 84];
        bytes[..20].copy_from_slice(&CAPTURED_HEADER);
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        assert_eq!(p.checksum(), 0xe675);
        assert!(p.verify_checksum());
        assert_eq!(p.decrement_ttl(), 63);
        assert_eq!(p.checksum(), 0xe775);
        assert!(p.verify_checksum());
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 36];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version(4);
        p.set_header_len(20);
        p.set_dscp(0);
        p.set_ecn(0);
        p.set_total_len(36);
        p.set_identification(0xedf9);
        p.clear_flags();
        p.set_dont_frag(true);
        p.set_more_frags(false);
        p.set_frag_offset(0);
        p.set_ttl(64);
        p.set_protocol(Protocol::Icmp);
        p.set_src_addr(VM);
        p.set_dst_addr(REMOTE);
        p.payload_mut().copy_from_slice(&PING[20..]);
        p.fill_checksum();
        assert_eq!(bytes, ping());
    }

    #[test]
    fn parse() {
        let bytes = ping();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(ping_repr())
        );
    }

    #[test]
    fn emit() {
        let mut bytes = [0xa5u8; 36];
        assert_eq!(ping_repr().buffer_len(), 20);
        ping_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes[..20], ping()[..20]);
        assert_eq!(bytes[20..], [0xa5u8; 16]); // payload untouched
    }

    #[test]
    fn round_trip() {
        let mut bytes = [0u8; 36];
        ping_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(ping_repr())
        );
    }

    #[test]
    fn payload_ignores_ethernet_padding() {
        // 36-byte datagram in a 46-byte minimum Ethernet payload.
        let mut padded = [0u8; 46];
        padded[..36].copy_from_slice(&ping());
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload().len(), 16);
        assert_eq!(Repr::parse(&p), Ok(ping_repr()));
    }

    #[test]
    fn options_and_payload_with_ihl_6() {
        // IGMP-style Router Alert option (RFC 2113): IHL 6.
        let mut bytes = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_total_len(28);
        p.set_ttl(1);
        p.set_protocol(Protocol::Igmp);
        p.set_src_addr(VM);
        p.set_dst_addr(Ipv4Addr::new(224, 0, 0, 22));
        bytes[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        bytes[24..28].copy_from_slice(&[0x22, 0x00, 0x00, 0x00]);
        Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.payload(), &[0x22, 0x00, 0x00, 0x00]);
        assert_eq!(Repr::parse(&p).unwrap().payload_len, 4);
    }

    #[test]
    fn fragment_helpers() {
        let mut bytes = ping();
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_more_frags(true);
        assert!(p.is_fragment());
        assert_eq!(p.frag_offset(), 0);
        p.set_more_frags(false);
        p.set_frag_offset(1480);
        assert!(p.is_fragment());
        assert!(p.dont_frag());
        assert_eq!(p.frag_offset(), 1480);
        assert_eq!(&bytes[6..8], &[0x40, 0xb9]); // DF | 185 units
    }

    #[test]
    fn decrement_ttl_keeps_checksum_valid() {
        let mut bytes = ping();
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        for expected in (0..64u8).rev() {
            assert_eq!(p.decrement_ttl(), expected);
            assert!(p.verify_checksum(), "ttl {expected}");
            let incremental = p.checksum();
            p.fill_checksum();
            assert!(
                incremental == p.checksum() || (incremental ^ p.checksum()) == 0xffff,
                "ttl {expected}"
            );
        }
        // TTL 0 stays 0 and the header stays valid.
        assert_eq!(p.decrement_ttl(), 0);
        assert_eq!(p.ttl(), 0);
        assert!(p.verify_checksum());
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Packet::new_checked(&ping()[..19]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_ihl_below_5() {
        let mut bytes = ping();
        bytes[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_ihl_beyond_buffer() {
        let mut bytes = ping();
        bytes[0] = 0x4f; // 60-byte header in a 36-byte buffer
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_total_len_below_header() {
        let mut bytes = ping();
        bytes[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_total_len_beyond_buffer() {
        let bytes = ping();
        assert_eq!(
            Packet::new_checked(&bytes[..35]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_bad_version() {
        let mut bytes = ping();
        bytes[0] = 0x65;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::BadVersion)
        );
    }

    #[test]
    fn rejects_bad_checksum() {
        let mut bytes = ping();
        bytes[11] ^= 0x01;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Err(ParseError::BadChecksum)
        );
    }
}
