//! UDP (RFC 768) with its checksum over the IPv4 (RFC 768) or IPv6
//! (RFC 8200 §8.1) pseudo-header.
//!
//! Contract:
//!
//! - [`Packet::check_len`]: buffer shorter than 8 bytes is `Truncated`;
//!   Length below 8 is `BadLength` (the field contradicts the header, and 0
//!   would be an RFC 2675 jumbogram, unsupported); Length past the buffer
//!   is `Truncated`. The buffer is the IP payload; bytes after Length are
//!   ignored. After that no accessor can panic.
//! - Checksums cover the Length bytes, with Length in the pseudo-header.
//!   Over IPv6 a zero checksum is invalid (RFC 8200 §8.1: the receiver
//!   must discard it); over IPv4 zero means "not computed" and verifies.
//!   A computed checksum of 0 is sent as 0xffff (RFC 768). Verification
//!   always succeeds under `cfg(fuzzing)`.
//! - [`Repr::parse`] does not verify the checksum: that needs the IP
//!   addresses and the forwarding path skips it; call
//!   `verify_checksum_v6` / `verify_checksum_v4` where the datagram is
//!   consumed locally (DHCPv6).

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

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// A read/write view over a UDP datagram.
///
/// Once [`Packet::new_checked`] succeeds no accessor can panic:
/// 8 <= Length <= buffer length.
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
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(ParseError::BadLength);
        }
        if len > buf_len {
            return Err(ParseError::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

// check_len covers field::SRC_PORT..field::CHECKSUM (8 octets) and the
// payload up to Length.
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]>> Packet<T> {
    fn be16(&self, range: core::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[range];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Source Port.
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }

    /// Destination Port.
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }

    /// Length: header plus data, in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        self.be16(field::LENGTH)
    }

    /// Checksum.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// The data, bytes 8 to Length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..usize::from(self.len())]
    }

    /// Header and data: the checksummed bytes.
    fn datagram(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.len())]
    }

    /// Verifies the checksum over the IPv6 pseudo-header; a zero checksum
    /// is invalid over IPv6 (RFC 8200 §8.1).
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        if cfg!(fuzzing) {
            return true;
        }
        if self.checksum() == 0 {
            return false;
        }
        let pseudo =
            checksum::pseudo_header_v6(src, dst, Protocol::Udp.into(), u32::from(self.len()));
        checksum::verify(pseudo, self.datagram())
    }

    /// Verifies the checksum over the IPv4 pseudo-header; zero means the
    /// sender did not compute one, which is allowed over IPv4.
    pub fn verify_checksum_v4(&self, src: &Ipv4Addr, dst: &Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::Udp.into(), self.len());
        checksum::verify(pseudo, self.datagram())
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

    /// Sets Source Port.
    pub fn set_src_port(&mut self, port: u16) {
        self.set_be16(field::SRC_PORT, port);
    }

    /// Sets Destination Port.
    pub fn set_dst_port(&mut self, port: u16) {
        self.set_be16(field::DST_PORT, port);
    }

    /// Sets Length.
    pub fn set_len(&mut self, len: u16) {
        self.set_be16(field::LENGTH, len);
    }

    /// Sets Checksum.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// The data, mutable (bytes 8 to Length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[field::PAYLOAD..end]
    }

    /// Stores `sum`, or 0xffff if it is 0 (0 means "no checksum").
    fn store_checksum(&mut self, sum: u16) {
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
    }

    /// Computes and stores the checksum over the IPv6 pseudo-header.
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let pseudo =
            checksum::pseudo_header_v6(src, dst, Protocol::Udp.into(), u32::from(self.len()));
        let sum = checksum::finish(pseudo, self.datagram());
        self.store_checksum(sum);
    }

    /// Computes and stores the checksum over the IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: &Ipv4Addr, dst: &Ipv4Addr) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::Udp.into(), self.len());
        let sum = checksum::finish(pseudo, self.datagram());
        self.store_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaning of a UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Bytes of data after the header (Length minus 8).
    pub payload_len: usize,
}

impl Repr {
    /// Parses a header; errors are those of [`Packet::check_len`]. The
    /// checksum is not verified (see the module doc).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.payload().len(),
        })
    }

    /// Header plus data: 8 + `payload_len`.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header with a zero checksum; the data and the checksum
    /// are the caller's (or use [`Repr::emit_v6`] / [`Repr::emit_v4`]).
    ///
    /// # Panics
    /// If the buffer is shorter than 8 bytes. Length saturates at 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(u16::try_from(self.buffer_len()).unwrap_or(u16::MAX));
        packet.set_checksum(0);
    }

    /// Writes header, `payload` and the IPv6 checksum. `payload` must be
    /// `payload_len` bytes; a longer one is cut, a shorter one leaves the
    /// rest of the data area as it was.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit_v6<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        payload: &[u8],
    ) {
        self.emit_with_payload(packet, payload);
        packet.fill_checksum_v6(src, dst);
    }

    /// Writes header, `payload` and the IPv4 checksum; see
    /// [`Repr::emit_v6`] for the payload contract.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit_v4<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: &Ipv4Addr,
        dst: &Ipv4Addr,
        payload: &[u8],
    ) {
        self.emit_with_payload(packet, payload);
        packet.fill_checksum_v4(src, dst);
    }

    fn emit_with_payload<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        payload: &[u8],
    ) {
        debug_assert_eq!(payload.len(), self.payload_len, "UDP payload length");
        self.emit(packet);
        for (dst, src) in packet.payload_mut().iter_mut().zip(payload) {
            *dst = *src;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn vm6() -> Ipv6Addr {
        "2001:db8:cafe:0:f816:3eff:fe79:5acc".parse().unwrap()
    }

    fn remote6() -> Ipv6Addr {
        "2001:db8:cafe:17::1".parse().unwrap()
    }

    const VM4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 4);
    const REMOTE4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

    /// forwarding-qr0.pcap frame 55: a traceroute6 probe from the VM.
    static PROBE_V6: [u8; 20] = [
        0xc2, 0x6b, 0x82, 0x9b, // source port 49771, destination port 33435
        0x00, 0x14, 0x38, 0xdb, // length 20, checksum 0x38db
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // 12 bytes data
    ];

    /// forwarding-qr0.pcap frame 59: a traceroute probe over IPv4, captured
    /// with checksum offload: the field holds the partial sum 0x6673 and
    /// tshark computes 0x35f4.
    static PROBE_V4: [u8; 40] = [
        0xeb, 0xd0, 0x82, 0x9a, // source port 60368, destination port 33434
        0x00, 0x28, 0x66, 0x73, // length 40, checksum (offload partial)
        0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, // data
        0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, //
        0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, //
    ];

    fn probe_repr() -> Repr {
        Repr {
            src_port: 49771,
            dst_port: 33435,
            payload_len: 12,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PROBE_V6[..]).unwrap();
        assert_eq!(p.src_port(), 49771);
        assert_eq!(p.dst_port(), 33435);
        assert_eq!(p.len(), 20);
        assert_eq!(p.checksum(), 0x38db);
        assert_eq!(p.payload(), &[0u8; 12]);
        assert!(p.verify_checksum_v6(&vm6(), &remote6()));
        assert!(!p.verify_checksum_v6(&remote6(), &remote6()));
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 20];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_src_port(49771);
        p.set_dst_port(33435);
        p.set_len(20);
        p.payload_mut().fill(0);
        p.fill_checksum_v6(&vm6(), &remote6());
        assert_eq!(bytes, PROBE_V6);
    }

    #[test]
    fn parse() {
        let p = Packet::new_checked(&PROBE_V6[..]).unwrap();
        assert_eq!(Repr::parse(&p), Ok(probe_repr()));
    }

    #[test]
    fn emit() {
        let mut bytes = [0xa5u8; 20];
        assert_eq!(probe_repr().buffer_len(), 20);
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        probe_repr().emit(&mut p);
        assert_eq!(bytes[..8], [0xc2, 0x6b, 0x82, 0x9b, 0x00, 0x14, 0x00, 0x00]);
        assert_eq!(bytes[8..], [0xa5u8; 12]); // data left to the caller
    }

    #[test]
    fn emit_v6_with_payload() {
        let mut bytes = [0xa5u8; 20];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        probe_repr().emit_v6(&mut p, &vm6(), &remote6(), &[0u8; 12]);
        assert_eq!(bytes, PROBE_V6);
    }

    #[test]
    fn emit_v4_matches_tshark_checksum() {
        let repr = Repr {
            src_port: 60368,
            dst_port: 33434,
            payload_len: 32,
        };
        let mut bytes = [0xa5u8; 40];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        repr.emit_v4(&mut p, &VM4, &REMOTE4, &PROBE_V4[8..]);
        assert_eq!(p.checksum(), 0x35f4);
        assert!(p.verify_checksum_v4(&VM4, &REMOTE4));
        assert_eq!(bytes[8..], PROBE_V4[8..]);
    }

    #[test]
    fn round_trip() {
        let mut bytes = [0u8; 20];
        probe_repr().emit_v6(
            &mut Packet::new_unchecked(&mut bytes[..]),
            &vm6(),
            &remote6(),
            &[0u8; 12],
        );
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum_v6(&vm6(), &remote6()));
        assert_eq!(Repr::parse(&p), Ok(probe_repr()));
    }

    #[test]
    fn offloaded_checksum_does_not_verify_until_filled() {
        let mut bytes = PROBE_V4;
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        assert!(!p.verify_checksum_v4(&VM4, &REMOTE4));
        p.fill_checksum_v4(&VM4, &REMOTE4);
        assert_eq!(p.checksum(), 0x35f4);
    }

    #[test]
    fn zero_checksum_over_ipv4_means_none() {
        let mut bytes = PROBE_V4;
        bytes[6..8].copy_from_slice(&[0, 0]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum_v4(&VM4, &REMOTE4));
    }

    #[test]
    fn rejects_zero_checksum_over_ipv6() {
        let mut bytes = PROBE_V6;
        bytes[6..8].copy_from_slice(&[0, 0]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(!p.verify_checksum_v6(&vm6(), &remote6()));
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Put the would-be checksum into the data: the sum then folds to
        // 0xffff, whose complement 0 must go out as 0xffff.
        let mut bytes = PROBE_V6;
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        p.fill_checksum_v6(&vm6(), &remote6());
        let c = p.checksum();
        p.payload_mut()[..2].copy_from_slice(&c.to_be_bytes());
        p.fill_checksum_v6(&vm6(), &remote6());
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v6(&vm6(), &remote6()));
    }

    #[test]
    fn payload_bounded_by_length() {
        let mut bytes = [0u8; 26];
        bytes[..20].copy_from_slice(&PROBE_V6);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload().len(), 12);
        assert!(p.verify_checksum_v6(&vm6(), &remote6()));
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Packet::new_checked(&PROBE_V6[..7]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_length_below_header() {
        let mut bytes = PROBE_V6;
        bytes[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_length_beyond_buffer() {
        assert_eq!(
            Packet::new_checked(&PROBE_V6[..19]).err(),
            Some(ParseError::Truncated)
        );
    }
}
