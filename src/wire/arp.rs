//! ARP (RFC 826) for Ethernet / IPv4, the only combination a router port
//! speaks.
//!
//! Contract:
//!
//! - [`Packet`] is a view over any ARP packet: the address fields are sized
//!   by its own `ar$hln` / `ar$pln`, and `check_len` covers
//!   `8 + 2 * (hln + pln)` bytes, so once it passes no accessor can panic.
//!   Bytes after the target protocol address (Ethernet minimum-size padding)
//!   are ignored.
//! - [`Repr`] is Ethernet/IPv4 only: `Repr::parse` rejects hardware type
//!   != 1, protocol type != 0x0800, hardware length != 6 or protocol length
//!   != 4 with `Malformed`, checked before the address area so a foreign ARP
//!   is reported as such rather than as `Truncated`.
//! - Operations are total (`Unknown(n)`); the ARP stage ignores what it
//!   does not know. A gratuitous ARP (RFC 5227 §3) is an ordinary request or
//!   reply whose sender and target protocol addresses are equal.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;

use crate::wire::ethernet::EtherType;
use crate::wire::{EthernetAddress, ParseError, Result};

/// `ar$hrd` for Ethernet (RFC 826; IANA ARP hardware types).
pub const HARDWARE_ETHERNET: u16 = 1;

/// Fixed part before the addresses: hrd, pro, hln, pln, op.
pub const FIXED_LEN: usize = 8;

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = 28;

/// ARP opcode (`ar$op`); total over `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// ares_op$REQUEST, 1.
    Request,
    /// ares_op$REPLY, 2.
    Reply,
    /// Anything else (RARP, InARP, ...).
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(value: u16) -> Self {
        match value {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(value: Operation) -> Self {
        match value {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(other) => other,
        }
    }
}

mod field {
    #![allow(non_snake_case)]
    use core::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;

    // The address fields move with hln / pln; all sums are below 1100.
    pub const fn SHA(hlen: u8, _plen: u8) -> Range<usize> {
        let start = OPER.end;
        start..(start + hlen as usize)
    }
    pub const fn SPA(hlen: u8, plen: u8) -> Range<usize> {
        let start = SHA(hlen, plen).end;
        start..(start + plen as usize)
    }
    pub const fn THA(hlen: u8, plen: u8) -> Range<usize> {
        let start = SPA(hlen, plen).end;
        start..(start + hlen as usize)
    }
    pub const fn TPA(hlen: u8, plen: u8) -> Range<usize> {
        let start = THA(hlen, plen).end;
        start..(start + plen as usize)
    }
}

/// A read/write view over an ARP packet.
///
/// Once [`Packet::new_checked`] succeeds no accessor can panic: the buffer
/// covers the fixed part and all four addresses as sized by hln / pln.
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

    /// `Truncated` if the buffer ends before the fixed part.
    fn check_fixed_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < FIXED_LEN {
            Err(ParseError::Truncated)
        } else {
            Ok(())
        }
    }

    /// `Truncated` if the buffer ends before the fixed part or before the
    /// target protocol address.
    pub fn check_len(&self) -> Result<()> {
        self.check_fixed_len()?;
        let end = field::TPA(self.hardware_len(), self.protocol_len()).end;
        if self.buffer.as_ref().len() < end {
            Err(ParseError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

// check_len covers field::HTYPE..field::OPER (the fixed 8 octets) and
// field::SHA..field::TPA for the hln / pln the packet states, so every
// getter below indexes inside the buffer.
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]>> Packet<T> {
    fn be16(&self, range: core::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[range];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// `ar$hrd`: hardware address space (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        self.be16(field::HTYPE)
    }

    /// `ar$pro`: protocol address space, an EtherType.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.be16(field::PTYPE))
    }

    /// `ar$hln`: bytes per hardware address.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// `ar$pln`: bytes per protocol address.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// `ar$op`.
    pub fn operation(&self) -> Operation {
        Operation::from(self.be16(field::OPER))
    }

    /// `ar$sha`.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SHA(self.hardware_len(), self.protocol_len())]
    }

    /// `ar$spa`.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SPA(self.hardware_len(), self.protocol_len())]
    }

    /// `ar$tha`.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::THA(self.hardware_len(), self.protocol_len())]
    }

    /// `ar$tpa`.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::TPA(self.hardware_len(), self.protocol_len())]
    }
}

/// Setters; the address setters panic if `addr` is not hln / pln bytes
/// long, so set the lengths first.
// Setters index like the getters: on a view that passed check_len, or on
// an emit buffer of at least `Repr::buffer_len()` octets (the documented
// emit contract, which panics otherwise, as smoltcp's does).
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets `ar$hrd`.
    pub fn set_hardware_type(&mut self, value: u16) {
        self.set_be16(field::HTYPE, value);
    }

    /// Sets `ar$pro`.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.set_be16(field::PTYPE, value.into());
    }

    /// Sets `ar$hln`.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets `ar$pln`.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets `ar$op`.
    pub fn set_operation(&mut self, value: Operation) {
        self.set_be16(field::OPER, value.into());
    }

    /// Sets `ar$sha`.
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) {
        let r = field::SHA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }

    /// Sets `ar$spa`.
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) {
        let r = field::SPA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }

    /// Sets `ar$tha`.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let r = field::THA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }

    /// Sets `ar$tpa`.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let r = field::TPA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An Ethernet/IPv4 ARP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Request or reply.
    pub operation: Operation,
    /// Sender MAC.
    pub source_hardware_addr: EthernetAddress,
    /// Sender IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC (zero in a request).
    pub target_hardware_addr: EthernetAddress,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Parses an Ethernet/IPv4 ARP packet.
    ///
    /// Errors: `Truncated` (shorter than the fixed part or the addresses),
    /// `Malformed` (not Ethernet/IPv4: hrd, pro, hln or pln wrong).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_fixed_len()?;
        if packet.hardware_type() != HARDWARE_ETHERNET
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(ParseError::Malformed);
        }
        packet.check_len()?;
        let mac = |b: &[u8]| EthernetAddress::from_bytes(b).ok_or(ParseError::Malformed);
        let ip = |b: &[u8]| {
            <[u8; 4]>::try_from(b)
                .map(Ipv4Addr::from)
                .map_err(|_| ParseError::Malformed)
        };
        Ok(Repr {
            operation: packet.operation(),
            source_hardware_addr: mac(packet.source_hardware_addr())?,
            source_protocol_addr: ip(packet.source_protocol_addr())?,
            target_hardware_addr: mac(packet.target_hardware_addr())?,
            target_protocol_addr: ip(packet.target_protocol_addr())?,
        })
    }

    /// Always 28 bytes.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// A gratuitous ARP announces or defends the sender's own address
    /// (RFC 5227 §3): sender and target protocol addresses are equal.
    pub fn is_gratuitous(&self) -> bool {
        self.source_protocol_addr == self.target_protocol_addr
    }

    /// Writes the 28-byte packet.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_hardware_type(HARDWARE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr.as_bytes());
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(self.target_hardware_addr.as_bytes());
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const VM_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc]);
    const ROUTER_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);
    const VM_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 4);
    const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    /// forwarding-qr0.pcap frame 23, ARP part: who has 198.51.100.1?
    static REQUEST: [u8; 28] = [
        0x00, 0x01, // hardware type: Ethernet
        0x08, 0x00, // protocol type: IPv4
        0x06, 0x04, // hln 6, pln 4
        0x00, 0x01, // operation: request
        0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // sender MAC: the VM
        0xc6, 0x33, 0x64, 0x04, // sender IP: 198.51.100.4
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
        0xc6, 0x33, 0x64, 0x01, // target IP: 198.51.100.1
    ];

    /// forwarding-qr0.pcap frame 24, ARP part: 198.51.100.1 is at the router.
    static REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet / IPv4, hln 6, pln 4
        0x00, 0x02, // operation: reply
        0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01, // sender MAC: the router
        0xc6, 0x33, 0x64, 0x01, // sender IP: 198.51.100.1
        0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // target MAC: the VM
        0xc6, 0x33, 0x64, 0x04, // target IP: 198.51.100.4
    ];

    fn request_repr() -> Repr {
        Repr {
            operation: Operation::Request,
            source_hardware_addr: VM_MAC,
            source_protocol_addr: VM_IP,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ROUTER_IP,
        }
    }

    fn reply_repr() -> Repr {
        Repr {
            operation: Operation::Reply,
            source_hardware_addr: ROUTER_MAC,
            source_protocol_addr: ROUTER_IP,
            target_hardware_addr: VM_MAC,
            target_protocol_addr: VM_IP,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!(p.source_hardware_addr(), VM_MAC.as_bytes());
        assert_eq!(p.source_protocol_addr(), VM_IP.octets());
        assert_eq!(p.target_hardware_addr(), [0u8; 6]);
        assert_eq!(p.target_protocol_addr(), ROUTER_IP.octets());
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 28];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_hardware_type(1);
        p.set_protocol_type(EtherType::Ipv4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(Operation::Reply);
        p.set_source_hardware_addr(ROUTER_MAC.as_bytes());
        p.set_source_protocol_addr(&ROUTER_IP.octets());
        p.set_target_hardware_addr(VM_MAC.as_bytes());
        p.set_target_protocol_addr(&VM_IP.octets());
        assert_eq!(bytes, REPLY);
    }

    #[test]
    fn parse() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(Repr::parse(&p), Ok(request_repr()));
        assert!(!request_repr().is_gratuitous());
    }

    #[test]
    fn parse_ignores_ethernet_padding() {
        let mut padded = [0u8; 46];
        padded[..28].copy_from_slice(&REPLY);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&padded[..]).unwrap()),
            Ok(reply_repr())
        );
    }

    #[test]
    fn emit() {
        let mut bytes = [0xa5u8; 28];
        assert_eq!(reply_repr().buffer_len(), bytes.len());
        reply_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, REPLY);
    }

    #[test]
    fn round_trip_gratuitous() {
        let garp = Repr {
            operation: Operation::Request,
            source_hardware_addr: ROUTER_MAC,
            source_protocol_addr: ROUTER_IP,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ROUTER_IP,
        };
        assert!(garp.is_gratuitous());
        let mut bytes = [0u8; 28];
        garp.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(garp)
        );
    }

    #[test]
    fn unknown_operation_is_kept() {
        let mut bytes = REQUEST;
        bytes[7] = 8; // InARP request
        let repr = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(repr.operation, Operation::Unknown(8));
    }

    #[test]
    fn rejects_truncated_fixed_part() {
        assert_eq!(
            Packet::new_checked(&REQUEST[..7]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_truncated_addresses() {
        assert_eq!(
            Packet::new_checked(&REQUEST[..27]).err(),
            Some(ParseError::Truncated)
        );
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&REQUEST[..27])),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_non_ethernet_hardware() {
        let mut bytes = REQUEST;
        bytes[1] = 6; // IEEE 802 networks
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_non_ipv4_protocol() {
        let mut bytes = REQUEST;
        bytes[2..4].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_bad_hardware_len() {
        let mut bytes = REQUEST;
        bytes[4] = 8; // would need 36 bytes: Malformed wins over Truncated
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_bad_protocol_len() {
        let mut bytes = REQUEST;
        bytes[5] = 16;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(ParseError::Malformed)
        );
    }
}
