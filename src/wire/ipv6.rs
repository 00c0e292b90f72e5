//! IPv6 fixed header (RFC 8200 §3).
//!
//! Contract:
//!
//! - [`Packet::check_len`] accepts a buffer holding the 40-byte header and
//!   the whole payload: shorter than 40 bytes or Payload Length reaching
//!   past the buffer is `Truncated`. After that no accessor can panic.
//! - [`Packet::payload`] is bounded by Payload Length, so Ethernet
//!   minimum-size padding is ignored. Jumbograms (RFC 2675, Payload Length
//!   0 with a Jumbo Payload option) are not supported: Payload Length 0 is
//!   an empty payload.
//! - [`Repr::parse`] checks the version (`BadVersion`, before the length so
//!   an IPv4 packet is reported as such). Extension headers are walked by
//!   [`crate::wire::ipv6ext`]; `Repr::next_header` is the fixed header's
//!   Next Header, which may be an extension header.
//! - There is no header checksum: the hop-limit decrement on the forwarding
//!   path is a plain [`Packet::set_hop_limit`].

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv6Addr;

use crate::wire::ip::Protocol;
use crate::wire::{ParseError, Result};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;

/// Minimum link MTU (RFC 8200 §5); ICMPv6 errors are cut to fit in it.
pub const MIN_MTU: usize = 1280;

mod field {
    use core::ops::Range;

    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
    pub const PAYLOAD: usize = 40;
}

/// A read/write view over an IPv6 packet.
///
/// Once [`Packet::new_checked`] succeeds no accessor can panic: the buffer
/// holds 40 + Payload Length bytes at least.
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

    /// `Truncated` if the buffer is shorter than the header or than the
    /// header plus Payload Length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < self.total_len() {
            Err(ParseError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header plus payload, in bytes (40 + Payload Length); 0 if the buffer
    /// cannot even hold the length field.
    pub fn total_len(&self) -> usize {
        match self.buffer.as_ref().get(field::LENGTH) {
            Some(&[hi, lo]) => HEADER_LEN + usize::from(u16::from_be_bytes([hi, lo])),
            _ => 0,
        }
    }
}

// check_len covers field::VER_TC_FLOW..field::DST_ADDR (40 octets) and
// the payload up to 40 + Payload Length.
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]>> Packet<T> {
    fn ver_tc_flow(&self) -> u32 {
        let d = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// Version (6).
    pub fn version(&self) -> u8 {
        (self.ver_tc_flow() >> 28) as u8
    }

    /// Traffic Class (DSCP and ECN, RFC 2474 / RFC 3168).
    pub fn traffic_class(&self) -> u8 {
        // The low nibble of octet 0 and the high nibble of octet 1.
        let d = &self.buffer.as_ref()[field::VER_TC_FLOW];
        (d[0] << 4) | (d[1] >> 4)
    }

    /// Flow Label (20 bits, RFC 6437).
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Payload Length: bytes after the fixed header, extension headers
    /// included.
    pub fn payload_len(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Next Header: an extension header or the upper-layer protocol.
    #[inline]
    pub fn next_header(&self) -> Protocol {
        Protocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Hop Limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source Address.
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC_ADDR]);
        Ipv6Addr::from(a)
    }

    /// Destination Address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST_ADDR]);
        Ipv6Addr::from(a)
    }

    /// The payload (extension headers included), Payload Length bytes.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..self.total_len()]
    }
}

// Setters index like the getters: on a view that passed check_len, or on
// an emit buffer of at least `Repr::buffer_len()` octets (the documented
// emit contract, which panics otherwise, as smoltcp's does).
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ver_tc_flow(&mut self, value: u32) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the Version nibble.
    pub fn set_version(&mut self, version: u8) {
        let w = self.ver_tc_flow() & 0x0fff_ffff;
        self.set_ver_tc_flow(w | (u32::from(version & 0x0f) << 28));
    }

    /// Sets Traffic Class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = self.ver_tc_flow() & 0xf00f_ffff;
        self.set_ver_tc_flow(w | (u32::from(tc) << 20));
    }

    /// Sets Flow Label (the high 12 bits of `label` are ignored).
    pub fn set_flow_label(&mut self, label: u32) {
        let w = self.ver_tc_flow() & 0xfff0_0000;
        self.set_ver_tc_flow(w | (label & 0x000f_ffff));
    }

    /// Sets Payload Length.
    pub fn set_payload_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets Next Header.
    pub fn set_next_header(&mut self, next: Protocol) {
        self.buffer.as_mut()[field::NXT_HDR] = next.into();
    }

    /// Sets Hop Limit (the forwarding decrement: no checksum to fix).
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    /// Sets Source Address.
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets Destination Address.
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The payload, mutable (Payload Length bytes).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[field::PAYLOAD..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaning of an IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next Header of the fixed header.
    pub next_header: Protocol,
    /// Payload Length.
    pub payload_len: usize,
    /// Hop Limit.
    pub hop_limit: u8,
}

impl Repr {
    /// Parses a fixed header.
    ///
    /// Errors: `Truncated` (buffer shorter than 40 or than Payload Length
    /// says), `BadVersion`.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if packet.as_ref().len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        if packet.version() != 6 {
            return Err(ParseError::BadVersion);
        }
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
        })
    }

    /// Header length `emit` writes: 40.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header with Traffic Class and Flow Label 0. The
    /// payload is the caller's to write.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`. A `payload_len` above
    /// 65535 needs a jumbogram, which is not supported; it saturates.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_ver_tc_flow(6 << 28);
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
// Fixtures cast small, known lengths.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// security-groups-qr0.pcap frame 17: a TCP SYN from 2001:db8:cafe:17::1
    /// to the VM's port 22 (the TCP header is in tcp.rs's tests).
    static SYN_HEADER: [u8; 40] = [
        0x60, 0x04, 0xd7, 0x49, // version 6, traffic class 0, flow label 0x4d749
        0x00, 0x28, 0x06, 0x3f, // payload length 40, next header TCP, hop limit 63
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x17, // source 2001:db8:cafe:17::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // destination
        0xf8, 0x16, 0x3e, 0xff, 0xfe, 0x79, 0x5a, 0xcc, // 2001:db8:cafe:0:f816:3eff:fe79:5acc
    ];

    /// A 40-byte header followed by `payload_len` bytes of 0x11 and then
    /// `padding` bytes of 0x00.
    fn packet(payload_len: usize, padding: usize) -> Vec<u8> {
        let mut bytes = SYN_HEADER.to_vec();
        bytes[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
        bytes.resize(40 + payload_len, 0x11);
        bytes.resize(40 + payload_len + padding, 0x00);
        bytes
    }

    fn syn_repr() -> Repr {
        Repr {
            src_addr: addr("2001:db8:cafe:17::1"),
            dst_addr: addr("2001:db8:cafe:0:f816:3eff:fe79:5acc"),
            next_header: Protocol::Tcp,
            payload_len: 40,
            hop_limit: 63,
        }
    }

    #[test]
    fn deconstruct() {
        let bytes = packet(40, 0);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0);
        assert_eq!(p.flow_label(), 0x4d749);
        assert_eq!(p.payload_len(), 40);
        assert_eq!(p.next_header(), Protocol::Tcp);
        assert_eq!(p.hop_limit(), 63);
        assert_eq!(p.src_addr(), addr("2001:db8:cafe:17::1"));
        assert_eq!(p.dst_addr(), addr("2001:db8:cafe:0:f816:3eff:fe79:5acc"));
        assert_eq!(p.total_len(), 80);
        assert_eq!(p.payload(), &[0x11; 40]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 40];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version(6);
        p.set_traffic_class(0);
        p.set_flow_label(0x4d749);
        p.set_payload_len(40);
        p.set_next_header(Protocol::Tcp);
        p.set_hop_limit(63);
        p.set_src_addr(addr("2001:db8:cafe:17::1"));
        p.set_dst_addr(addr("2001:db8:cafe:0:f816:3eff:fe79:5acc"));
        assert_eq!(bytes, SYN_HEADER);
    }

    #[test]
    fn traffic_class_and_flow_label_are_independent() {
        let mut bytes = SYN_HEADER;
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_traffic_class(0xb8); // EF
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xb8);
        assert_eq!(p.flow_label(), 0x4d749);
        p.set_flow_label(0xfff_ffff);
        assert_eq!(p.traffic_class(), 0xb8);
        assert_eq!(p.flow_label(), 0xf_ffff);
    }

    #[test]
    fn parse() {
        let bytes = packet(40, 0);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(syn_repr())
        );
    }

    #[test]
    fn emit() {
        let mut bytes = [0xa5u8; 40];
        assert_eq!(syn_repr().buffer_len(), 40);
        syn_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        let mut expected = SYN_HEADER;
        expected[1..4].copy_from_slice(&[0, 0, 0]); // traffic class, flow label 0
        assert_eq!(bytes, expected);
    }

    #[test]
    fn round_trip() {
        let mut bytes = [0u8; 80];
        syn_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(syn_repr())
        );
    }

    #[test]
    fn payload_ignores_padding() {
        // An 8-byte payload in a minimum-size Ethernet frame: 6 bytes pad.
        let bytes = packet(8, 6);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload(), &[0x11; 8]);
    }

    #[test]
    fn hop_limit_decrement() {
        let mut bytes = packet(40, 0);
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        let h = p.hop_limit();
        p.set_hop_limit(h - 1);
        assert_eq!(p.hop_limit(), 62);
        assert_eq!(bytes[7], 62);
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Packet::new_checked(&SYN_HEADER[..39]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_payload_len_beyond_buffer() {
        let bytes = packet(40, 0);
        assert_eq!(
            Packet::new_checked(&bytes[..79]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_bad_version() {
        let mut bytes = packet(40, 0);
        bytes[0] = 0x45;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::BadVersion)
        );
    }
}
