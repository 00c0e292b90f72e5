//! TCP header (RFC 9293 §3.1), kept lean: the security-group stage needs
//! ports and flags, conntrack needs sequence numbers; options are exposed as
//! raw bytes and never interpreted or emitted.
//!
//! Contract:
//!
//! - The buffer is the whole segment, i.e. the IP payload bounded by the IP
//!   length fields (TCP has no length field of its own).
//! - [`Packet::check_len`]: shorter than 20 bytes is `Truncated`; Data
//!   Offset below 5 is `BadLength`; Data Offset * 4 past the buffer is
//!   `Truncated`. After that no accessor can panic.
//! - Checksums cover the whole buffer with the IPv4 (RFC 9293 §3.1) or IPv6
//!   (RFC 8200 §8.1) pseudo-header; verification always succeeds under
//!   `cfg(fuzzing)`.
//! - [`Repr::emit`] writes a 20-byte header with a zero checksum; write the
//!   payload, then call `fill_checksum_v6` / `fill_checksum_v4`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::checksum;
use crate::wire::ip::Protocol;
use crate::wire::{ParseError, Result};

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

/// The eight control bits (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo.
    pub const ECE: Flags = Flags(0x40);
    /// Congestion Window Reduced.
    pub const CWR: Flags = Flags(0x80);

    const NAMES: [(Flags, &'static str); 8] = [
        (Flags::FIN, "FIN"),
        (Flags::SYN, "SYN"),
        (Flags::RST, "RST"),
        (Flags::PSH, "PSH"),
        (Flags::ACK, "ACK"),
        (Flags::URG, "URG"),
        (Flags::ECE, "ECE"),
        (Flags::CWR, "CWR"),
    ];

    /// No flag set.
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// From the flags octet (byte 13).
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits)
    }

    /// The flags octet.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// FIN.
    pub const fn fin(self) -> bool {
        self.contains(Flags::FIN)
    }

    /// SYN.
    pub const fn syn(self) -> bool {
        self.contains(Flags::SYN)
    }

    /// RST.
    pub const fn rst(self) -> bool {
        self.contains(Flags::RST)
    }

    /// PSH.
    pub const fn psh(self) -> bool {
        self.contains(Flags::PSH)
    }

    /// ACK.
    pub const fn ack(self) -> bool {
        self.contains(Flags::ACK)
    }

    /// URG.
    pub const fn urg(self) -> bool {
        self.contains(Flags::URG)
    }

    /// ECE.
    pub const fn ece(self) -> bool {
        self.contains(Flags::ECE)
    }

    /// CWR.
    pub const fn cwr(self) -> bool {
        self.contains(Flags::CWR)
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl core::fmt::Debug for Flags {
    /// `SYN|ACK`, or `-` when empty: readable in logs and test failures.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for (flag, name) in Flags::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS: usize = 20;
}

/// A read/write view over a TCP segment.
///
/// Once [`Packet::new_checked`] succeeds no accessor can panic:
/// 20 <= Data Offset * 4 <= buffer length.
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

    /// See the module doc for which error each failure gives.
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
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Verifies the checksum over the IPv6 pseudo-header.
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let Ok(len) = u32::try_from(data.len()) else {
            return false;
        };
        let pseudo = checksum::pseudo_header_v6(src, dst, Protocol::Tcp.into(), len);
        checksum::verify(pseudo, data)
    }

    /// Verifies the checksum over the IPv4 pseudo-header.
    pub fn verify_checksum_v4(&self, src: &Ipv4Addr, dst: &Ipv4Addr) -> bool {
        let data = self.buffer.as_ref();
        let Ok(len) = u16::try_from(data.len()) else {
            return false;
        };
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::Tcp.into(), len);
        checksum::verify(pseudo, data)
    }
}

// check_len covers field::SRC_PORT..field::URGENT (20 octets) and the
// options up to Data Offset * 4; the payload is the rest of the buffer.
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]>> Packet<T> {
    fn be16(&self, range: core::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[range];
        u16::from_be_bytes([d[0], d[1]])
    }

    fn be32(&self, range: core::ops::Range<usize>) -> u32 {
        let d = &self.buffer.as_ref()[range];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// Source Port.
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }

    /// Destination Port.
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }

    /// Sequence Number.
    pub fn seq_number(&self) -> u32 {
        self.be32(field::SEQ_NUM)
    }

    /// Acknowledgment Number (meaningful when ACK is set).
    pub fn ack_number(&self) -> u32 {
        self.be32(field::ACK_NUM)
    }

    /// Data Offset, in bytes (the field counts 32-bit words).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The control bits.
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    /// Window.
    pub fn window_len(&self) -> u16 {
        self.be16(field::WIN_SIZE)
    }

    /// Checksum.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Urgent Pointer.
    pub fn urgent_at(&self) -> u16 {
        self.be16(field::URGENT)
    }

    /// The options, uninterpreted (bytes 20 to Data Offset * 4).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }

    /// The data after the header, to the end of the buffer.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
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

    fn set_be32(&mut self, range: core::ops::Range<usize>, value: u32) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets Source Port.
    pub fn set_src_port(&mut self, port: u16) {
        self.set_be16(field::SRC_PORT, port);
    }

    /// Sets Destination Port.
    pub fn set_dst_port(&mut self, port: u16) {
        self.set_be16(field::DST_PORT, port);
    }

    /// Sets Sequence Number.
    pub fn set_seq_number(&mut self, seq: u32) {
        self.set_be32(field::SEQ_NUM, seq);
    }

    /// Sets Acknowledgment Number.
    pub fn set_ack_number(&mut self, ack: u32) {
        self.set_be32(field::ACK_NUM, ack);
    }

    /// Sets Data Offset from bytes (rounded down to words) and clears the
    /// reserved bits.
    pub fn set_header_len(&mut self, len: usize) {
        // Masked to 4 bits, so the cast keeps every bit.
        #[allow(clippy::cast_possible_truncation)]
        let words = ((len / 4) & 0x0f) as u8;
        self.buffer.as_mut()[field::DATA_OFF] = words << 4;
    }

    /// Sets the control bits.
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS] = flags.bits();
    }

    /// Sets Window.
    pub fn set_window_len(&mut self, window: u16) {
        self.set_be16(field::WIN_SIZE, window);
    }

    /// Sets Checksum.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Sets Urgent Pointer.
    pub fn set_urgent_at(&mut self, urgent: u16) {
        self.set_be16(field::URGENT, urgent);
    }

    /// The options, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS..end]
    }

    /// The data after the header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes and stores the checksum over the IPv6 pseudo-header.
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header_v6(src, dst, Protocol::Tcp.into(), len);
        let sum = checksum::finish(pseudo, data);
        self.set_checksum(sum);
    }

    /// Computes and stores the checksum over the IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: &Ipv4Addr, dst: &Ipv4Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::Tcp.into(), len);
        let sum = checksum::finish(pseudo, data);
        self.set_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaning of a TCP header, options left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number (as on the wire, even without ACK).
    pub ack_number: u32,
    /// Control bits.
    pub flags: Flags,
    /// Window.
    pub window_len: u16,
    /// Bytes after the header.
    pub payload_len: usize,
}

impl Repr {
    /// Parses a header; errors are those of [`Packet::check_len`]. The
    /// checksum is not verified (it needs the IP addresses).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            payload_len: packet.payload().len(),
        })
    }

    /// Header plus data: 20 + `payload_len`.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes a 20-byte header (no options, urgent pointer 0, checksum 0).
    ///
    /// # Panics
    /// If the buffer is shorter than 20 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(HEADER_LEN);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn client() -> Ipv6Addr {
        "2001:db8:cafe:17::1".parse().unwrap()
    }

    fn vm() -> Ipv6Addr {
        "2001:db8:cafe:0:f816:3eff:fe79:5acc".parse().unwrap()
    }

    /// security-groups-qr0.pcap frame 17: SYN to the VM's port 22, captured
    /// with checksum offload (field 0x8212 is a partial sum; tshark computes
    /// 0xc615).
    static SYN: [u8; 40] = [
        0x83, 0x50, 0x00, 0x16, // source port 33616, destination port 22
        0x0a, 0x6d, 0x3c, 0x2e, // sequence number
        0x00, 0x00, 0x00, 0x00, // acknowledgment number
        0xa0, 0x02, 0xfd, 0x20, // data offset 10 (40 bytes), SYN, window 64800
        0x82, 0x12, 0x00, 0x00, // checksum (offload partial), urgent pointer 0
        0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, // options: MSS 1440, SACK permitted
        0x08, 0x0a, 0x2f, 0x44, 0x09, 0xb0, 0x00, 0x00, 0x00, 0x00, // timestamps
        0x01, 0x03, 0x03, 0x0b, // NOP, window scale 11
    ];

    /// The same SYN as `Repr::emit` writes it: no options, checksum 0.
    static SYN_NO_OPTIONS: [u8; 20] = [
        0x83, 0x50, 0x00, 0x16, // source port 33616, destination port 22
        0x0a, 0x6d, 0x3c, 0x2e, // sequence number
        0x00, 0x00, 0x00, 0x00, // acknowledgment number
        0x50, 0x02, 0xfd, 0x20, // data offset 5, SYN, window 64800
        0x00, 0x00, 0x00, 0x00, // checksum 0, urgent pointer 0
    ];

    fn syn_repr() -> Repr {
        Repr {
            src_port: 33616,
            dst_port: 22,
            seq_number: 0x0a6d_3c2e,
            ack_number: 0,
            flags: Flags::SYN,
            window_len: 64800,
            payload_len: 0,
        }
    }

    #[test]
    fn flags() {
        let f = Flags::SYN | Flags::ACK;
        assert!(f.syn() && f.ack());
        assert!(!f.fin() && !f.rst() && !f.psh() && !f.urg() && !f.ece() && !f.cwr());
        assert_eq!(f.bits(), 0x12);
        assert_eq!(format!("{f:?}"), "SYN|ACK");
        assert_eq!(format!("{:?}", Flags::empty()), "-");
        let mut g = Flags::from_bits(0xc1);
        assert!(g.fin() && g.ece() && g.cwr());
        g |= Flags::RST;
        assert!(g.contains(Flags::RST | Flags::FIN));
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_port(), 33616);
        assert_eq!(p.dst_port(), 22);
        assert_eq!(p.seq_number(), 0x0a6d_3c2e);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), Flags::SYN);
        assert_eq!(p.window_len(), 64800);
        assert_eq!(p.checksum(), 0x8212);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options(), &SYN[20..]);
        assert_eq!(p.payload(), &[] as &[u8]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 40];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_src_port(33616);
        p.set_dst_port(22);
        p.set_seq_number(0x0a6d_3c2e);
        p.set_ack_number(0);
        p.set_header_len(40);
        p.set_flags(Flags::SYN);
        p.set_window_len(64800);
        p.set_checksum(0x8212);
        p.set_urgent_at(0);
        p.options_mut().copy_from_slice(&SYN[20..]);
        assert_eq!(bytes, SYN);
    }

    #[test]
    fn checksum_matches_tshark() {
        let mut bytes = SYN;
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        assert!(!p.verify_checksum_v6(&client(), &vm()));
        p.fill_checksum_v6(&client(), &vm());
        assert_eq!(p.checksum(), 0xc615);
        assert!(p.verify_checksum_v6(&client(), &vm()));
        // (Swapping source and destination would not show: the sum commutes.)
        assert!(!p.verify_checksum_v6(&vm(), &vm()));
    }

    #[test]
    fn checksum_v4() {
        let src = Ipv4Addr::new(198, 51, 100, 4);
        let dst = Ipv4Addr::new(203, 0, 113, 1);
        let mut bytes = SYN;
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        p.fill_checksum_v4(&src, &dst);
        assert!(p.verify_checksum_v4(&src, &dst));
        assert!(!p.verify_checksum_v4(&dst, &dst));
    }

    #[test]
    fn parse() {
        let p = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(Repr::parse(&p), Ok(syn_repr()));
    }

    #[test]
    fn emit() {
        let mut bytes = [0xa5u8; 20];
        assert_eq!(syn_repr().buffer_len(), 20);
        syn_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, SYN_NO_OPTIONS);
    }

    #[test]
    fn round_trip_with_payload() {
        let repr = Repr {
            src_port: 59854,
            dst_port: 5000,
            seq_number: 1,
            ack_number: 1,
            flags: Flags::PSH | Flags::ACK,
            window_len: 65535,
            payload_len: 6,
        };
        let mut bytes = [0xa5u8; 26];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        repr.emit(&mut p);
        p.payload_mut().copy_from_slice(b"hello\n");
        p.fill_checksum_v6(&vm(), &client());
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum_v6(&vm(), &client()));
        assert_eq!(p.payload(), b"hello\n");
        assert_eq!(Repr::parse(&p), Ok(repr));
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Packet::new_checked(&SYN[..19]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_data_offset_below_5() {
        let mut bytes = SYN;
        bytes[12] = 0x40;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_data_offset_beyond_buffer() {
        assert_eq!(
            Packet::new_checked(&SYN[..39]).err(),
            Some(ParseError::Truncated)
        );
    }
}
